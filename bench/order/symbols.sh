#!/usr/bin/env bash
# Prints the function symbols of an executable as bench/order/trace.c reads them: "hex-address name"
# per line, FUNC entries of .symtab only (a breakpoint written into a data label would corrupt it).
# Used by scripts/order-file.sh and OrderTraceTests.
#
#   bench/order/symbols.sh EXECUTABLE
set -euo pipefail
readelf -sW "${1:?usage: symbols.sh EXECUTABLE}" \
    | awk '/^Symbol table/ { symtab = /\.symtab/ } symtab && $4 == "FUNC" && $7 != "UND" { print $2, $8 }'
