# AVX-VNNI (VEX-encoded VPDPBUSD on ymm: Alder Lake and later clients, Sierra
# Forest, Zen 5): x86-64 only, and only with a compiler that knows -mavxvnni.
# No AVX-512 flag here: with -mavx512vnni -mavx512vl the assembler would be
# free to pick the EVEX encoding of VPDPBUSD, which these CPUs (most of them
# without AVX-512) cannot run; ctest checks the object (tests/CMakeLists.txt).
# The same kernel body is also compiled against SIMDe for the tests
# (tests/emulated/avxvnni_simde.cc), which runs it on any AVX2 CPU.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  include(CheckCXXCompilerFlag)
  check_cxx_compiler_flag("-mavx2 -mfma -mavxvnni" QGEMM_CXX_HAS_AVXVNNI_FLAGS)
  if(QGEMM_CXX_HAS_AVXVNNI_FLAGS)
    set(QGEMM_ISA_SOURCES gemm_6x16_vpdpbusd.cc)
    set(QGEMM_ISA_FLAGS -mavx2;-mfma;-mavxvnni)
  endif()
endif()
