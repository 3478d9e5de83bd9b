# AVX2 kernels: x86-64 targets only. Every file here is compiled with the
# AVX2 flags and nothing else includes them (docs/design.md, "Building
# per-ISA code").
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(QGEMM_ISA_SOURCES dot_rows_4x32.cc gemm_6x16.cc pack.cc)
  set(QGEMM_ISA_FLAGS "-mavx2;-mfma")
endif()
