// One fuzz input -> one checked call of the C API. Shared by the libFuzzer
// target (tests/fuzz/fuzz_c_api.cc) and the regression test that replays
// tests/fuzz/corpus/ and tests/fuzz/regressions/ in the normal suite.
//
// Input layout (fixed offsets; missing bytes read as 0):
//    0 op        % 5: requant, s32, pack KN + requant_packed,
//                     pack NK + requant_packed, pack NK + s32_packed
//    1 threads   0: NULL context; 255: num_threads -1 (must be rejected,
//                then NULL context); else 1 + (x - 1) % 3 threads
//    2 isa       0,1 "auto"; 2..6 the ISAs of registry ids 0..4
//                (dispatch/isa_registry.def); 7 ""; 8 "bogus"; 9 NULL;
//                10 "AVX2"; 11 "auto "; 12..255 registry id x - 12, or an
//                unknown name "isa#<id>" while no ISA has that id
//    3 nulls     bit0 A, bit1 B, bit2 C, bit3 requant struct, bit4
//                multiplier, bit5 shift NULL; bit6 bias present; bit7 pack
//                with the NULL context instead of the call's
//    4.. 6 m     selector, value lo, hi   (selector < 224: value % 65;
//    7.. 9 n       else a hostile size from a table, see HostileSize)
//   10..12 k                              (k: value % 301)
//   13..14 lda   selector, value (see Stride)
//   15..16 ldb
//   17..18 ldc
//   19 za  20 zb
//   21 layout    < 250: the op's layout; else the raw (invalid) value x - 240
//   22 per_channel  < 250: x % 2; else x - 252 (-2..3)
//   23 multiplier mode % 4: valid Q31 [2^30, 2^31); any int32; 0; INT32_MAX
//   24 shift mode      % 4: [-31, 30]; any int8; -31; 30
//   25 c_zero_point selector (< 240: value of byte 26; else int32 26..29)
//   30 c_min  31 c_max
//   32 bias mode % 4: small; any int32; INT32_MAX; INT32_MIN
//   33 A data mode, 34 B data mode % 4: random; 0/255; all 255; all 0
//   35..38 seed of the data generator
#ifndef QGEMM_TESTS_FUZZ_FUZZ_CASE_H_
#define QGEMM_TESTS_FUZZ_FUZZ_CASE_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace qgemm_fuzz {

// Runs the input. Returns "" when the library kept its contract, else what
// went wrong. A read or write past any buffer faults on a guard page.
std::string RunFuzzInput(const uint8_t* data, size_t size);

// How many inputs made a call that computed something (not skipped).
size_t ExecutedCalls();

}  // namespace qgemm_fuzz

#endif  // QGEMM_TESTS_FUZZ_FUZZ_CASE_H_
