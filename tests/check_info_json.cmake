# Runs `qgemm-info --json` (through the cross emulator if any) and checks
# that stdout is one valid JSON object with the fields tools rely on.
# Usage: cmake -DINFO=<path> [-DEMULATOR=<cmd>] -P check_info_json.cmake
execute_process(COMMAND ${EMULATOR} ${INFO} --json
  OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "qgemm-info --json exited ${rc}")
endif()
string(JSON default_isa GET "${out}" default_isa)
string(JSON arch GET "${out}" cpu arch)
string(JSON n_isas LENGTH "${out}" isas)
math(EXPR last_index "${n_isas} - 1")
string(JSON last_name GET "${out}" isas ${last_index} name)
string(JSON scalar_runs GET "${out}" isas ${last_index} runs_here)
if(NOT last_name STREQUAL "scalar" OR NOT scalar_runs)
  message(FATAL_ERROR "the last ISA must be scalar and run here: ${out}")
endif()
string(JSON mr GET "${out}" isas ${last_index} mr)
message(STATUS "qgemm-info --json OK: ${arch}, default ${default_isa}, scalar MR ${mr}")
