# NEON i8mm (UMMLA, Armv8.6 FEAT_I8MM, optional from Armv8.2): aarch64 only.
# The flags go on this folder's files alone; dispatch checks HWCAP2_I8MM and
# asimddp first. Packing and the dot-rows kernel come from kernels/neon/
# (baseline NEON).
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(QGEMM_ISA_SOURCES gemm_8x8_ummla.cc)
  set(QGEMM_ISA_FLAGS -march=armv8.2-a+dotprod+i8mm)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # As in kernels/neon: GCC's pre-allocation scheduler would hoist every
    # load of the unrolled groups ahead of the UMMLAs and spill.
    list(APPEND QGEMM_ISA_FLAGS -fno-schedule-insns)
  endif()
endif()
