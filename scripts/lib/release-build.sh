# The release build of `fleet` as the image ships it (Dockerfile), shared by scripts/demo.sh,
# scripts/bench.sh, scripts/bench-peers.sh and scripts/order-file.sh, in a build folder of its own
# so that it never rebuilds the debug build's or a plain `swift build -c release`'s objects.
# Sourced with REPO set. The flags:
# - --static-swift-stdlib: the Swift runtime and Foundation linked in, as in the image;
# - -function-sections: each function of every Swift module (the dependencies' too; not the C
#   targets) in a section of its own, so that the linker can place the functions a worker runs
#   together, in the order of bench/order/fleet.order (Package.swift's release linker flags;
#   scripts/order-file.sh).
# SwiftPM does not know that the link reads bench/order/: an executable older than those files is
# removed first, so that it is linked again.
RELEASE_SCRATCH="$REPO/.build-release"
release_build() {
    local fleet="$RELEASE_SCRATCH/release/fleet"
    if [[ " $* " != *" --show-bin-path "* && -e "$fleet" \
        && ("$REPO/bench/order/fleet.order" -nt "$fleet" || "$REPO/bench/order/fleet.lds" -nt "$fleet") ]]; then
        rm -f "$fleet"
    fi
    swift build -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections \
        --scratch-path "$RELEASE_SCRATCH" "$@"
}
