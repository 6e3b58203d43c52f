// The x86 vector intrinsics, included once for every kernel that uses them.
#pragma once

// GCC 12's AVX-512 header builds some intrinsics (_mm512_extractf64x4_pd, used by
// _mm512_reduce_add_ps, and others) from a deliberately undefined vector, and then warns that
// it is used uninitialised wherever they are inlined (GCC bug 105593). The warning points into
// the header, so silencing it around the include silences only that.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
