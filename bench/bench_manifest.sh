#!/usr/bin/env bash
# What the provenance manifest costs a pull, in one run on one archive in
# the page cache: cap-pull --no-manifest, cap-pull with the default manifest
# (sources stat(2)ed, the output hashed once after it is published), and
# with --hash-sources (every source read once more). Two expressions: a
# narrow one (a small output: the manifest's cost is stat(2)s) and '' (the
# whole archive out: the output's SHA-256 is the cost). Medians, ratios.
#
# Usage: bash bench/bench_manifest.sh [BUILD_DIR]   (default: build, or $CAPTURE_BIN)
# Environment: BENCH_FILES (16), BENCH_SIZE (32M, per file), BENCH_RUNS (5).
name=bench_manifest
source "$(dirname "$0")/lib.sh"
runs=${BENCH_RUNS:-5}
files=${BENCH_FILES:-16}
size=${BENCH_SIZE:-32M}
cap_pull=$(tool cap-pull)
make_archive "$work/archive" "$files" "$size"
warm "$work/archive"/*
total=$(cat "$work/archive"/* | wc -c)

pull() {  # EXPR OPTION...
  local expr=$1
  shift
  rm -rf "$work/caps"
  "$cap_pull" --no-syslog --dir "$work/caps" -a bench -e "$expr" -r "$work/archive" "$@"
}
for expr in 'host 10.0.0.7' ''; do
  none=() with=() hashed=()
  for ((i = 0; i < runs; i++)); do
    none+=("$(seconds pull "$expr" --no-manifest)")
    with+=("$(seconds pull "$expr")")
    hashed+=("$(seconds pull "$expr" --hash-sources)")
  done
  n=$(median "${none[@]}") w=$(median "${with[@]}") h=$(median "${hashed[@]}")
  out=$(stat -c %s "$work"/caps/*.pcap)
  awk -v n="$n" -v w="$w" -v h="$h" -v e="${expr:-(all)}" -v mib=$((total >> 20)) -v o=$((out >> 20)) 'BEGIN {
    printf "expression %s: archive %d MiB, output %d MiB, %d runs\n", e, mib, o, '"$runs"'
    printf "  --no-manifest:   median %.3f s\n", n
    printf "  manifest:        median %.3f s  ratio %.3f\n", w, w / n
    printf "  --hash-sources:  median %.3f s  ratio %.3f\n", h, h / n
  }'
done
