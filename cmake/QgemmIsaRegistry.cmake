# Reads the ISA registry (dispatch/isa_registry.def) into CMake:
#   QGEMM_ISAS                 the ISA names, best first
#   QGEMM_ISA_ID_<name>        its stable id
#   QGEMM_ISA_QEMU_CPU_<name>  its qemu-aarch64 CPU model, or empty
# Entries are one line each: QGEMM_ISA(name, id, features, "needs", "qemu").
function(qgemm_read_isa_registry file)
  file(STRINGS ${file} lines REGEX "^QGEMM_ISA\\(")
  set(names "")
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "^QGEMM_ISA\\(([a-z0-9_]+), *([0-9]+),.*\"([^\"]*)\"\\)$")
      message(FATAL_ERROR "isa_registry.def: cannot read the line: ${line}")
    endif()
    list(APPEND names ${CMAKE_MATCH_1})
    set(QGEMM_ISA_ID_${CMAKE_MATCH_1} ${CMAKE_MATCH_2} PARENT_SCOPE)
    set(QGEMM_ISA_QEMU_CPU_${CMAKE_MATCH_1} "${CMAKE_MATCH_3}" PARENT_SCOPE)
  endforeach()
  if(NOT names)
    message(FATAL_ERROR "isa_registry.def: no QGEMM_ISA line in ${file}")
  endif()
  set(QGEMM_ISAS ${names} PARENT_SCOPE)
endfunction()
