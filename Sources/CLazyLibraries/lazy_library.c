#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "lazy_library.h"

void *fleet_lazy_open(const char *soname) {
    void *library = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        fprintf(stderr, "fleet: cannot load %s: %s\n", soname, dlerror());
        abort();
    }
    return library;
}

void *fleet_lazy_symbol(void *library, const char *soname, const char *name) {
    void *symbol = dlsym(library, name);
    if (symbol == NULL) {
        fprintf(stderr, "fleet: %s has no %s: %s\n", soname, name, dlerror());
        abort();
    }
    return symbol;
}
