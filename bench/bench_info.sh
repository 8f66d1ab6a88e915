#!/usr/bin/env bash
# cap-info against capinfos computing the same figures (type, link type,
# packets, file and data size, snaplen, earliest/latest time, duration,
# rates, average size, time order; no hashes) on one synthetic rolling
# archive, page cache warm: 3 runs each, alternating, and the medians.
#
# Usage: bash bench/bench_info.sh [BUILD_DIR]     (default: build, or $CAPTURE_BIN)
# Environment: BENCH_FILES (16), BENCH_SIZE (64M, per file), BENCH_RUNS (3).
name=bench_info
source "$(dirname "$0")/lib.sh"
files=${BENCH_FILES:-16}
size=${BENCH_SIZE:-64M}
cap_info=$(tool cap-info)
command -v capinfos >/dev/null || die "needs capinfos (Debian package wireshark-common)"

make_warm_archive "$work/archive" "$files" "$size"

capinfos_same() { capinfos -T -M -S -t -E -c -s -d -l -a -e -u -y -i -z -x -o -- "${inputs[@]}"; }
cap_info_same() { "$cap_info" --no-syslog --records -- "${inputs[@]}"; }

# They must agree before they are timed: packets of every file.
cmp -s <(capinfos -T -r -c -- "${inputs[@]}" | cut -f2) \
       <(cap_info_same | tr '\t' '\n' | sed -n 's/^packets=//p') || die "cap-info and capinfos disagree on packets"

peer=() ours=()
for _ in $(seq "$runs"); do
  peer+=("$(seconds capinfos_same)")
  ours+=("$(seconds cap_info_same)")
done
awk -v n="${#inputs[@]}" -v bytes="$total" -v p="$(median "${peer[@]}")" -v o="$(median "${ours[@]}")" \
    -v pr="${peer[*]}" -v or="${ours[*]}" -v cpu="$(nproc)" 'BEGIN {
  mib = bytes / 1048576
  printf "archive:  %d files, %.2f GiB, page cache warm; %d cores\n", n, mib / 1024, cpu
  printf "capinfos: median %.3f s  (%s)  %7.0f MiB/s\n", p, pr, mib / p
  printf "cap-info: median %.3f s  (%s)  %7.0f MiB/s\n", o, or, mib / o
  printf "ratio:    cap-info is %.1fx faster than capinfos\n", p / o
}'
