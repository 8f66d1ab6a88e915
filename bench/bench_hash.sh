#!/usr/bin/env bash
# cap-hash against sha256sum on the same rolling archive (>= 1 GiB in >= 16
# files), page cache warm: 3 runs each, alternating, and the medians.
#
# Usage: bash bench/bench_hash.sh [BUILD_DIR]      (default: build, or $CAPTURE_BIN)
# Environment: BENCH_FILES (16), BENCH_SIZE (64M, per file), BENCH_RUNS (3),
# BENCH_DIR (where the archive goes; default a temporary directory, removed).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${CAPTURE_BIN:-$src/build}}
files=${BENCH_FILES:-16}
size=${BENCH_SIZE:-64M}
runs=${BENCH_RUNS:-3}

die() { echo "bench_hash: $*" >&2; exit 2; }
cap_hash="$build/cap-hash"
[ -x "$cap_hash" ] || cap_hash=$(command -v cap-hash) || die "no cap-hash in $build or on PATH (build first)"
command -v sha256sum >/dev/null || die "needs sha256sum"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-hash.XXXXXX")
trap 'rm -rf "$work"' EXIT
archive=${BENCH_DIR:-$work/archive}
mkdir -p "$archive"

# The archive: our generator when it is built (or can be), else random bytes
# (cap-hash does not look inside).
make_archive="$build/bench/make_archive"
if [ ! -x "$make_archive" ] && command -v g++ >/dev/null; then
  g++ -std=c++17 -O2 -o "$work/make_archive" "$src/bench/make_archive.cpp" 2>/dev/null && make_archive="$work/make_archive"
fi
if [ -x "$make_archive" ]; then
  "$make_archive" --out "$archive" --files "$files" --size "$size" --quiet >/dev/null
else
  bytes=$(numfmt --from=iec "$size")
  for i in $(seq -w 1 "$files"); do head -c "$bytes" /dev/urandom >"$archive/bench.$i.pcap"; done
fi
mapfile -t inputs < <(find "$archive" -maxdepth 1 -type f | sort)
total=$(cat "${inputs[@]}" | wc -c)
[ "${#inputs[@]}" -ge 16 ] && [ "$total" -ge $((1 << 30)) ] || echo "bench_hash: note: smaller than 1 GiB in 16 files" >&2

# Warm the page cache, so both read from memory, and check they agree.
cat "${inputs[@]}" >/dev/null
cat "${inputs[@]}" >/dev/null
cmp -s <(sha256sum -- "${inputs[@]}") <("$cap_hash" --no-syslog --human -- "${inputs[@]}") ||
  die "cap-hash and sha256sum disagree"

seconds() { # runs "$@" with output discarded; prints the wall-clock seconds
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

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
