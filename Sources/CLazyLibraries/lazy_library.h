// Opening a shared library on first use (see include/CLazyLibraries.h for why).
#pragma once

// The stubs stay out of the dynamic symbol table: the library they open must bind its calls to its
// own functions, never to the stub of the same name in the process.
#define FLEET_LAZY_STUB __attribute__((visibility("hidden")))

/// dlopen(soname); on failure prints dlerror() and aborts, as the loader would have at start.
void *fleet_lazy_open(const char *soname);

/// dlsym(library, name); on failure prints which symbol is missing and aborts.
void *fleet_lazy_symbol(void *library, const char *soname, const char *name);
