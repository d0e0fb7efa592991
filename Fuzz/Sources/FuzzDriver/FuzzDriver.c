#include "FuzzDriver.h"

#include <stddef.h>
#include <stdint.h>

// Both provided at link time: the first by libFuzzer (-sanitize=fuzzer), the second by the target.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int fleet_fuzz_main(int argc, char **argv) { return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput); }
