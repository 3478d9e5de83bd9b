# AVX-512 VNNI: x86-64 only, and only with a compiler that knows the flags.
# The same kernel body is also compiled against SIMDe for the tests
# (tests/emulated/), which is how it is checked on CPUs without AVX-512.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  include(CheckCXXCompilerFlag)
  check_cxx_compiler_flag("-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni"
                          QGEMM_CXX_HAS_AVX512VNNI_FLAGS)
  if(QGEMM_CXX_HAS_AVX512VNNI_FLAGS)
    set(QGEMM_ISA_SOURCES gemm_8x32.cc)
    set(QGEMM_ISA_FLAGS -mavx512f;-mavx512bw;-mavx512dq;-mavx512vl;-mavx512vnni)
  endif()
endif()
