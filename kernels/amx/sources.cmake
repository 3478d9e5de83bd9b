# AMX-INT8: x86-64 only, and only with a compiler that knows the AMX flags
# (GCC 11+, clang 12+). The kernel body includes the avx512vnni one, so the
# folder gets that folder's flags too. The same body is compiled against a
# model of the tile instructions for the tests (tests/emulated/), which is
# how it is checked on CPUs without AMX.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  include(CheckCXXCompilerFlag)
  check_cxx_compiler_flag("-mamx-tile -mamx-int8 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni"
                          QGEMM_CXX_HAS_AMX_FLAGS)
  if(QGEMM_CXX_HAS_AMX_FLAGS)
    set(QGEMM_ISA_SOURCES gemm_32x32.cc)
    set(QGEMM_ISA_FLAGS -mamx-tile;-mamx-int8;-mavx512f;-mavx512bw;-mavx512dq;-mavx512vl;-mavx512vnni)
  endif()
endif()
