set(QGEMM_ISA_SOURCES gemm_4x4.cc pack.cc)
