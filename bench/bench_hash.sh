#!/usr/bin/env bash
# cap-hash against sha256sum on the same rolling archive (>= 1 GiB in >= 16
# files), page cache warm: 3 runs each, alternating, and the medians.
#
# Usage: bash bench/bench_hash.sh [BUILD_DIR]      (default: build, or $CAPTURE_BIN)
# Environment: BENCH_FILES (16), BENCH_SIZE (64M, per file), BENCH_RUNS (3),
# BENCH_DIR (where the archive goes; default a temporary directory, removed).
name=bench_hash
source "$(dirname "$0")/lib.sh"
files=${BENCH_FILES:-16}
size=${BENCH_SIZE:-64M}
cap_hash=$(tool cap-hash)
command -v sha256sum >/dev/null || die "needs sha256sum"

archive=${BENCH_DIR:-$work/archive}
make_archive "$archive" "$files" "$size"
mapfile -t inputs < <(find "$archive" -maxdepth 1 -type f | sort)
total=$(cat "${inputs[@]}" | wc -c)
[ "${#inputs[@]}" -ge 16 ] && [ "$total" -ge $((1 << 30)) ] || echo "bench_hash: note: smaller than 1 GiB in 16 files" >&2

# Warm the page cache, so both read from memory, and check they agree.
warm "${inputs[@]}"
cmp -s <(sha256sum -- "${inputs[@]}") <("$cap_hash" --no-syslog --human -- "${inputs[@]}") ||
  die "cap-hash and sha256sum disagree"

peer=() ours=()
for _ in $(seq "$runs"); do
  peer+=("$(seconds sha256sum -- "${inputs[@]}")")
  ours+=("$(seconds "$cap_hash" --no-syslog --records -- "${inputs[@]}")")
done
peer_median=$(median "${peer[@]}")
ours_median=$(median "${ours[@]}")
jobs=$("$cap_hash" --help | sed -n 's/.*--jobs \] N (=\([0-9]*\)).*/\1/p')

awk -v n="${#inputs[@]}" -v bytes="$total" -v p="$peer_median" -v o="$ours_median" \
    -v pr="${peer[*]}" -v or="${ours[*]}" -v jobs="$jobs" -v cpu="$(nproc)" 'BEGIN {
  mib = bytes / 1048576
  printf "archive:   %d files, %.2f GiB, page cache warm; %d cores\n", n, mib / 1024, cpu
  printf "sha256sum: median %.3f s  (%s)  %6.0f MiB/s\n", p, pr, mib / p
  printf "cap-hash:  median %.3f s  (%s)  %6.0f MiB/s  (-j %s)\n", o, or, mib / o, jobs
  printf "ratio:     cap-hash is %.1fx faster than sha256sum\n", p / o
}'
