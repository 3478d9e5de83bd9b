/* The public header is valid C99 and the library links into a C program:
 * a small GEMM through the C API, checked by hand. */
#include <qgemm/qgemm.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  const uint8_t a[2 * 3] = {1, 2, 3, 4, 5, 6};
  const uint8_t b[3 * 2] = {7, 8, 9, 10, 11, 12};
  int32_t c32[4];
  uint8_t c8[4];
  int32_t multiplier = 1 << 30; /* 0.5 */
  int32_t shift = -2;           /* total 1/8 */
  qgemm_requant rq;
  qgemm_context* ctx = NULL;
  qgemm_packed_b* packed = NULL;
  int i;
  const int32_t want[4] = {58, 64, 139, 154};

  if (qgemm_context_create(2, &ctx) != QGEMM_OK) return 1;
  if (qgemm_u8u8_s32(ctx, 2, 2, 3, a, 3, 0, b, 2, 0, NULL, c32, 2) != QGEMM_OK)
    return 2;
  for (i = 0; i < 4; ++i) {
    if (c32[i] != want[i]) {
      printf("c32[%d] = %d, want %d\n", i, (int)c32[i], (int)want[i]);
      return 3;
    }
  }
  memset(&rq, 0, sizeof rq);
  rq.multiplier = &multiplier;
  rq.shift = &shift;
  rq.c_zero_point = 10;
  rq.c_min = 0;
  rq.c_max = 255;
  if (qgemm_pack_b(ctx, 3, 2, b, 2, QGEMM_LAYOUT_KN, 0, &packed) != QGEMM_OK)
    return 4;
  if (qgemm_u8u8_requant_packed(ctx, 2, a, 3, 0, packed, &rq, c8, 2) !=
      QGEMM_OK)
    return 5;
  for (i = 0; i < 4; ++i) {
    /* SRDHM by 0.5 rounds half up, then RDBPOT by 2^2 rounds half away
     * from zero: two roundings, as docs/design.md defines (139 -> 70 -> 18). */
    const int half = (want[i] + 1) / 2;
    const int expect = (half + 2) / 4 + 10;
    if (c8[i] != expect) {
      printf("c8[%d] = %d, want %d\n", i, c8[i], expect);
      return 6;
    }
  }
  {
    /* Float output: acc * (0.5 * 0.25) + bias, exact in float here. */
    const float b_scale = 0.25f;
    const float bias[2] = {-1.0f, 2.5f};
    float cf[4];
    qgemm_dequant dq;
    memset(&dq, 0, sizeof dq);
    dq.a_scale = 0.5f;
    dq.b_scale = &b_scale;
    dq.bias = bias;
    if (qgemm_u8u8_f32_packed(ctx, 2, a, 3, 0, packed, &dq, cf, 2) != QGEMM_OK)
      return 8;
    for (i = 0; i < 4; ++i) {
      const float expect = (float)want[i] * 0.125f + bias[i % 2];
      if (cf[i] != expect) {
        printf("cf[%d] = %g, want %g\n", i, (double)cf[i], (double)expect);
        return 9;
      }
    }
    dq.a_scale = 0.0f;
    if (qgemm_u8u8_f32(ctx, 2, 2, 3, a, 3, 0, b, 2, 0, &dq, cf, 2) !=
        QGEMM_INVALID_ARGUMENT)
      return 10;
  }
  if (qgemm_u8u8_s32(ctx, 2, 2, 3, NULL, 3, 0, b, 2, 0, NULL, c32, 2) !=
      QGEMM_INVALID_ARGUMENT)
    return 7;
  printf("C API OK on %s: %s\n", qgemm_context_isa(ctx),
         qgemm_status_string(QGEMM_OK));
  qgemm_packed_b_destroy(packed);
  qgemm_context_destroy(ctx);
  return 0;
}
