# NEON dot product (UDOT, Armv8.2 FEAT_DotProd): aarch64 only. The flags go on
# this folder's files alone; dispatch checks HWCAP asimddp first. Packing and
# the output stage come from kernels/neon/ (baseline NEON).
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(QGEMM_ISA_SOURCES gemm_8x12_udot.cc)
  set(QGEMM_ISA_FLAGS -march=armv8.2-a+dotprod)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # As in kernels/neon: GCC's pre-allocation scheduler would load both depth
    # groups' operands up front and spill an accumulator.
    list(APPEND QGEMM_ISA_FLAGS -fno-schedule-insns)
  endif()
endif()
