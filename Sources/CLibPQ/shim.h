// The C API of pq, seen by Swift through this header only.
#pragma once
#include <postgresql/libpq-fe.h>
