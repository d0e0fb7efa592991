// Starts libFuzzer from a Swift executable's own entry point. SwiftPM renames an executable's `main`
// (to `<Target>_main`, for testable executables), so libFuzzer's `main` cannot be used; its
// documented alternative, LLVMFuzzerRunDriver, is called instead with the target's
// LLVMFuzzerTestOneInput (defined in Swift with @_cdecl).
#pragma once

int fleet_fuzz_main(int argc, char **argv);
