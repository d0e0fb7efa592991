// The C API of hiredis, seen by Swift through this header only.
#pragma once
#include <hiredis/hiredis.h>

// Swift imports the fixed-size `errstr` array as a tuple; hand it out as a C string instead.
static inline const char *chiredis_errstr(const redisContext *c) {
    return c->errstr;
}
