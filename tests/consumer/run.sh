#!/usr/bin/env bash
# Installs the build tree's qgemm into a fresh prefix, then configures,
# builds and runs the consumer project against that prefix only.
set -euo pipefail
build_dir=$1
src_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/qgemm/qgemm.h"
test -f "$(ls "$work"/prefix/lib*/libqgemm.a "$work"/prefix/lib/*/libqgemm.a 2>/dev/null | head -1)"
pc_dir=$(dirname "$(find "$work/prefix" -name qgemm.pc | head -1)")
PKG_CONFIG_PATH=$pc_dir cmake -S "$src_dir" -B "$work/build" \
  -DCMAKE_PREFIX_PATH="$work/prefix" ${CMAKE_GENERATOR:+-G "$CMAKE_GENERATOR"} >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer_c"
"$work/build/consumer_pkgconfig"
"$work/build/consumer_cpp"
