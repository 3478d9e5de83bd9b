# NEON (Advanced SIMD): every aarch64 CPU has it; on 32-bit ARM (armv7-a)
# it is optional, so only these files get -mfpu=neon and dispatch checks
# HWCAP_NEON before calling them. kernels/neondot/ reuses the packing and the
# output stage compiled here.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(QGEMM_ISA_SOURCES dot_rows_4x16.cc gemm_umull_uadalp.cc pack.cc
                        output_stage.cc)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(arm|armv7.*)$")
  set(QGEMM_ISA_SOURCES dot_rows_4x16.cc gemm_umull_uadalp.cc pack.cc
                        output_stage.cc)
  set(QGEMM_ISA_FLAGS -mfpu=neon)
endif()
if(QGEMM_ISA_SOURCES AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC's pre-allocation scheduler hoists all 32 UMULLs of the 4x4 tile
  # ahead of their UADALPs and spills accumulators; without it the inner
  # loop has no stack access (gemm_umull_uadalp.cc orders the products itself,
  # and the post-allocation scheduler still runs).
  list(APPEND QGEMM_ISA_FLAGS -fno-schedule-insns)
endif()
