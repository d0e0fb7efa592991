// zlib (Debian's zlib1g-dev), seen by Swift through this header only.
#pragma once
#include <zlib.h>

// deflateInit2/inflateInit2 are macros that pass the version and struct size, which Swift does not import.
// windowBits 15 + 16 selects the gzip wrapper (RFC 1952) instead of raw zlib.
static inline int fleet_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
static inline int fleet_inflate_init_gzip(z_streamp stream) {
    return inflateInit2(stream, 15 + 16);
}
