// crc32.c: owns the CRC-32 (IEEE, zlib's reflected polynomial 0xEDB88320) of the index's frame checksums.
//
// Why C: every block an answer reads is checked before it is decompressed, and the check was 12% of the CPU
// time of a question over a 1M-token corpus with the slicing-by-8 table loop. Carry-less multiplication
// (PCLMULQDQ) folds 64 bytes per step, as in Intel's "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ Instruction" (2009), with the bit-reflected constants of the CRC-32 polynomial given there; the
// table loop remains for short tails and for CPUs without the instruction.

#include "lh_internal.h"

/// 8 tables of 256 entries (slicing-by-8), built on first use.
static uint32_t crc_table[8][256];
static int crc_table_ready = 0;

static void crc_make_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int i = 0; i < 256; i++) crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^ crc_table[0][crc_table[k - 1][i] & 0xFF];
    __atomic_store_n(&crc_table_ready, 1, __ATOMIC_RELEASE);
}

/// Advances the running state `c` (the CRC before its final inversion) over n bytes, 8 at a time.
static uint32_t crc_tables(uint32_t c, const uint8_t *p, int64_t n) {
    if (!__atomic_load_n(&crc_table_ready, __ATOMIC_ACQUIRE)) crc_make_table();   // racing builders write the same
    for (; n >= 8; p += 8, n -= 8) {
        const uint32_t lo = lh_load_u32(p) ^ c, hi = lh_load_u32(p + 4);
        c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^ crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24]
          ^ crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF] ^ crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
    }
    for (; n > 0; p++, n--) c = crc_table[0][(c ^ *p) & 0xFF] ^ (c >> 8);
    return c;
}

#if LH_X86
#define LH_CLMUL __attribute__((target("pclmul,sse4.1")))   // called only where lh_use_avx2() holds

/// Advances the running state over n bytes, n >= 64 and a multiple of 16.
LH_CLMUL static uint32_t crc_clmul(uint32_t c, const uint8_t *p, int64_t n) {
    // x^(4·128+32) and x^(4·128−32) mod P (fold by 64 bytes), x^(128+32) and x^(128−32) (fold by 16), x^64 (to
    // 64 bits), and P with the Barrett constant floor(x^64 / P), all bit-reflected.
    const __m128i fold64 = _mm_set_epi64x(0x01c6e41596LL, 0x0154442bd4LL);
    const __m128i fold16 = _mm_set_epi64x(0x00ccaa009eLL, 0x01751997d0LL);
    const __m128i fold8 = _mm_set_epi64x(0, 0x0163cd6124LL);
    const __m128i barrett = _mm_set_epi64x(0x01f7011641LL, 0x01db710641LL);
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);

    __m128i x1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi32_si128((int)c));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x4 = _mm_loadu_si128((const __m128i *)(p + 48));
    p += 64;
    n -= 64;
    for (; n >= 64; p += 64, n -= 64) {
        #define FOLD(x, k, next) _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next)
        x1 = FOLD(x1, fold64, _mm_loadu_si128((const __m128i *)p));
        x2 = FOLD(x2, fold64, _mm_loadu_si128((const __m128i *)(p + 16)));
        x3 = FOLD(x3, fold64, _mm_loadu_si128((const __m128i *)(p + 32)));
        x4 = FOLD(x4, fold64, _mm_loadu_si128((const __m128i *)(p + 48)));
    }
    // Four lanes into one, then the remaining 16-byte blocks.
    x1 = FOLD(x1, fold16, x2);
    x1 = FOLD(x1, fold16, x3);
    x1 = FOLD(x1, fold16, x4);
    for (; n >= 16; p += 16, n -= 16) x1 = FOLD(x1, fold16, _mm_loadu_si128((const __m128i *)p));
    #undef FOLD
    // 128 bits to 64, then Barrett reduction to 32.
    __m128i x2b = _mm_clmulepi64_si128(x1, fold16, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2b);
    x2b = _mm_srli_si128(x1, 4);
    x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, low32), fold8, 0x00), x2b);
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), barrett, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), barrett, 0x00);
    return (uint32_t)_mm_extract_epi32(_mm_xor_si128(x1, t), 1);
}

#endif

uint32_t lh_crc32(const void *data, int64_t n) {
    const uint8_t *p = (const uint8_t *)data;
    uint32_t c = 0xFFFFFFFFu;
    if (n <= 0) return 0;
#if LH_X86
    if (n >= 64 && lh_use_avx2()) {     // AVX2 CPUs have PCLMULQDQ (cpu_features.c checks it)
        const int64_t body = n & ~(int64_t)15;
        c = crc_clmul(c, p, body);
        p += body;
        n -= body;
    }
#endif
    return crc_tables(c, p, n) ^ 0xFFFFFFFFu;
}
