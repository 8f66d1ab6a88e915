#!/usr/bin/env bash
# cap-merge against mergecap and cat on two interleaved rolling archives
# (2 x 512 MiB in 32 files: two sensors over the same time span), page
# cache warm: 3 runs each, alternating, and the medians. cat writes the
# same number of bytes to a file: the floor for one thread that writes
# them. cap-merge writes on a second thread when it has two cores
# (write_behind.hpp), so its cpu time may exceed its wall time.
#
# Usage: bash bench/bench_merge.sh [BUILD_DIR]      (default: build, or $CAPTURE_BIN)
# Environment: BENCH_FILES (16 per archive), BENCH_SIZE (32M per file),
# BENCH_RUNS (3), TMPDIR (where the archives and outputs go, one filesystem;
# removed at the end).
name=bench_merge
source "$(dirname "$0")/lib.sh"
files=${BENCH_FILES:-16}
size=${BENCH_SIZE:-32M}
cap_merge=$(tool cap-merge)
command -v mergecap >/dev/null || die "needs mergecap (wireshark-common / tshark)"
export CAPTURE_SYSLOG=off

# Two sensors, same start and rate, different traffic: their packets interleave.
make_archive "$work/a" "$files" "$size" --prefix sensor-a --seed 11
make_archive "$work/b" "$files" "$size" --prefix sensor-b --seed 12
mapfile -t inputs < <(find "$work/a" "$work/b" -maxdepth 1 -type f | sort)
total=$(cat "${inputs[@]}" | wc -c)

# Warm the page cache, and check that the outputs agree (mergecap's tie order
# for a byte-for-byte comparison; its snaplen is 262144, ours the inputs' 65535,
# so the 24-byte headers are compared apart).
warm "${inputs[@]}"
sync
mergecap -F pcap -w "$work/ref.pcap" "${inputs[@]}"
"$cap_merge" --mergecap-order -w "$work/ours.pcap" "${inputs[@]}" >/dev/null
cmp -s <(tail -c +25 "$work/ref.pcap") <(tail -c +25 "$work/ours.pcap") || die "cap-merge and mergecap disagree"
out_bytes=$(stat -c %s "$work/ours.pcap")
rm -f "$work/ref.pcap" "$work/ours.pcap"

# runs "$@" with stdout discarded; prints "WALL CPU" seconds (CPU: user +
# system, children included). On a shared machine the wall clock carries
# other people's load; the CPU time says what the tool itself cost.
wall_and_cpu() {
  local TIMEFORMAT='%R %U %S' t
  t=$( { time "$@" >/dev/null; } 2>&1 )
  awk -v t="$t" 'BEGIN { split(t, f, " "); printf "%.3f %.3f\n", f[1], f[2] + f[3] }'
}
cat_to() { cat "${inputs[@]}" >"$1"; }

# sync before each timed run: the dirty pages of the last output (or of the
# archives just made) are written back now, not during the next tool's run.
peer=() ours=() floor=() peer_cpu=() ours_cpu=() floor_cpu=()
for i in $(seq "$runs"); do
  sync
  read -r w u < <(wall_and_cpu mergecap -F pcap -w "$work/out-mergecap.pcap" "${inputs[@]}")
  peer+=("$w") peer_cpu+=("$u")
  rm -f "$work/out-mergecap.pcap"
  sync
  read -r w u < <(wall_and_cpu "$cap_merge" -w "$work/out-cap-merge.pcap" "${inputs[@]}")
  ours+=("$w") ours_cpu+=("$u")
  rm -f "$work/out-cap-merge.pcap"
  sync
  read -r w u < <(wall_and_cpu cat_to "$work/out-cat.pcap")
  floor+=("$w") floor_cpu+=("$u")
  rm -f "$work/out-cat.pcap"
done
p=$(median "${peer[@]}") pc=$(median "${peer_cpu[@]}")
o=$(median "${ours[@]}") oc=$(median "${ours_cpu[@]}")
c=$(median "${floor[@]}") cc=$(median "${floor_cpu[@]}")

awk -v n="${#inputs[@]}" -v bytes="$total" -v out="$out_bytes" -v p="$p" -v o="$o" -v c="$c" \
    -v pr="${peer[*]}" -v or="${ours[*]}" -v cr="${floor[*]}" -v cpu="$(nproc)" \
    -v pc="$pc" -v oc="$oc" -v cc="$cc" -v load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')" 'BEGIN {
  mib = bytes / 1048576
  printf "inputs:    %d files, %.0f MiB, two interleaved archives, page cache warm; %d cores, load %s\n", n, mib, cpu, load
  printf "output:    %.0f MiB\n", out / 1048576
  printf "mergecap:  median %.3f s  (%s)  %6.0f MiB/s  cpu %.3f s\n", p, pr, mib / p, pc
  printf "cap-merge: median %.3f s  (%s)  %6.0f MiB/s  cpu %.3f s\n", o, or, mib / o, oc
  printf "cat:       median %.3f s  (%s)  %6.0f MiB/s  cpu %.3f s\n", c, cr, mib / c, cc
  printf "ratios:    cap-merge is %.1fx faster than mergecap (goal >= 3); %.2fx the time of cat (goal <= 1.5)\n", p / o, o / c
  printf "cpu:       cap-merge uses %.1fx less cpu than mergecap; %.2fx the cpu of cat\n", pc / oc, oc / cc
}'
