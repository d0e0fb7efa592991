import Foundation
import FuzzDriver

// libFuzzer's driver runs this target's LLVMFuzzerTestOneInput with the command line's options.
exit(fleet_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv))
