# Runs a command-line tool and checks its exit status and output; ctest runs
# it with `cmake -P`. Lists travel with "@@" in place of ";":
#   TOOL         the program
#   EMULATOR     e.g. qemu-aarch64 (CMAKE_CROSSCOMPILING_EMULATOR), or empty
#   ARGS         its arguments
#   EXPECT_RC    the exit status it must return
#   EXPECT       regular expressions its stdout must each match (may be empty)
foreach(var EMULATOR ARGS EXPECT)
  string(REPLACE "@@" ";" ${var} "${${var}}")
endforeach()
execute_process(COMMAND ${EMULATOR} ${TOOL} ${ARGS}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("$ ${TOOL} ${ARGS}\n${out}${err}exit status ${rc}")
if(NOT rc STREQUAL EXPECT_RC)
  message(FATAL_ERROR "exit status ${rc}, expected ${EXPECT_RC}")
endif()
foreach(regex IN LISTS EXPECT)
  if(NOT out MATCHES "${regex}")
    message(FATAL_ERROR "stdout does not match '${regex}'")
  endif()
endforeach()
