#!/usr/bin/env bash
# Indexed pulls against the scan and tcpdump on one synthetic archive, in
# the same run: a rare-host pull over the whole archive (the host of
# interest in --hoi-fraction of the packets) through the index, by a scan
# (cap-pull --no-index) and by tcpdump -V, each cold (page cache dropped
# before every run, when the machine lets us) and warm; a 5-tuple pull over
# a one-hour window; cap-index's build rate on one core (warm); the index's
# size against the archive's; cap-index --follow's CPU time while a daemon's
# ring is written at 1 Gbit/s (files of the archive copied into a fresh
# directory at 125 MB/s, in pieces; utime + stime from /proc/PID/stat over
# the wall time). Every pull is checked against the others before anything
# is timed. The targets of issue 15 are checked at the end
# (exit 1 when one is missed). Cold runs drop the page cache, then run each
# tool's --version so that only the archive (and its indexes) is cold.
#
# fio, when installed, measures the disk's random reads for the floor.
# Usage: bash bench/bench_index.sh [BUILD_DIR]    (default: build, or $CAPTURE_BIN)
# Environment: BENCH_GIB (16: the archive's size), BENCH_SIZE (256M, per file),
#              BENCH_RUNS (3), BENCH_WARM_RUNS (9: the warm series), BENCH_HOI (0.0005: the rare host's share of packets),
#              BENCH_RATE (2000 packets/s: about 3 h for 16 GiB), BENCH_DIR (where
#              the archive is made; default a temporary directory, removed at exit;
#              a BENCH_DIR is kept, and its archive reused by the next run with
#              the same parameters), BENCH_FOLLOW_FILES (8: files written for --follow).
# The build rate is given by wall time and by CPU time (user + sys): on a
# machine shared with other work the wall time counts time spent waiting
# for a core, and the target, per core, is checked on the CPU time.
name=bench_index
source "$(dirname "$0")/lib.sh"
gib=${BENCH_GIB:-16}
size=${BENCH_SIZE:-256M}
hoi=${BENCH_HOI:-0.0005}
warm_runs=${BENCH_WARM_RUNS:-9}
rate=${BENCH_RATE:-2000}
cap_pull=$(tool cap-pull)
cap_index=$(tool cap-index)
command -v tcpdump >/dev/null || die "needs tcpdump"
export TZ=UTC
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
arch=${BENCH_DIR:-$work}/archive
fpid=
stop_follow() { if [ -n "$fpid" ]; then kill -TERM "$fpid" 2>/dev/null || true; wait "$fpid" 2>/dev/null || true; fpid=; fi; }
if [ -n "${BENCH_DIR:-}" ]; then
  trap 'stop_follow; rm -rf "$work"' EXIT
else
  trap 'stop_follow; rm -rf "$work" "$arch"' EXIT
fi

size_bytes=$(numfmt --from=iec "$size")
files=$(( (gib * 1073741824 + size_bytes - 1) / size_bytes ))
params="files=$files size=$size hoi=$hoi rate=$rate vlan=0.05 generator=$(cksum <"$src/bench/make_archive.cpp" | cut -d' ' -f1)"
if [ -f "$arch/.bench-params" ] && [ "$(cat "$arch/.bench-params")" = "$params" ] &&
   [ "$(find "$arch" -maxdepth 1 -type f -name 'daemonlogger.*' | wc -l)" -eq "$files" ]; then
  echo "reusing the archive in $arch ($params)" >&2
else
  rm -rf "$arch"
  echo "making $files files of $size ($gib GiB) ..." >&2
  make_archive "$arch" "$files" "$size" --hoi-fraction "$hoi" --rate "$rate" --vlan-fraction 0.05
  printf '%s\n' "$params" >"$arch/.bench-params"
fi
mapfile -t inputs < <(find "$arch" -maxdepth 1 -type f -name 'daemonlogger.*' | sort)
printf '%s\n' "${inputs[@]}" >"$work/list"
total=$(cat "${inputs[@]}" | wc -c)

can_drop=no
if [ -w /proc/sys/vm/drop_caches ] && sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then can_drop=yes; fi
# The archive cold, the tools themselves warm (on a sensor they are in the cache).
drop() {
  [ "$can_drop" = yes ] && sync && echo 3 >/proc/sys/vm/drop_caches
  "$cap_pull" --version >/dev/null
  tcpdump --version >/dev/null 2>&1 || true
}

# cpu_seconds COMMAND...: runs it with stdout discarded; prints its wall
# seconds and its CPU seconds (user + sys, children included).
cpu_seconds() {
  local TIMEFORMAT='%R %U %S' t
  t=$( { time "$@" >/dev/null 2>/dev/null; } 2>&1 )
  awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.3f %.3f", a[1], a[2] + a[3] }'
}

# Build rate: one core, warm, sidecars removed before each run.
warm "${inputs[@]}"
build=() build_cpu=()
for _ in $(seq "$runs"); do
  rm -f "$arch"/.*.cidx
  read -r wall cpu <<<"$(cpu_seconds "$cap_index" --no-syslog -j1 -r "$arch")"
  build+=("$wall") build_cpu+=("$cpu")
done
index_bytes=$(cat "$arch"/.*.cidx | wc -c)

# --follow at 1 Gbit/s: the archive's first files written into a fresh
# directory in 1 MiB pieces, paced at 125 MB/s as a daemon rolling its
# files would write them; cap-index --follow's CPU time over the wall time
# from the first write until every file but the newest (still open to it)
# has its index.
follow_files=${BENCH_FOLLOW_FILES:-8}
[ "$follow_files" -gt "${#inputs[@]}" ] && follow_files=${#inputs[@]}
fdir=$work/follow
mkdir -p "$fdir" "$work/capdir"
CAPTURE_DIR=$work/capdir "$cap_index" --no-syslog --follow -j1 --settle 600 -r "$fdir" >"$work/follow.out" 2>"$work/follow.err" &
fpid=$!
ticks() { awk '{ print $14 + $15 }' "/proc/$fpid/stat"; }
hz=$(getconf CLK_TCK)
follow_c0=$(ticks) follow_w0=$(date +%s%N)
for ((i = 0; i < follow_files; i++)); do
  f=${inputs[i]}
  start=$(date +%s%N)
  bytes_f=$(stat -c %s "$f")
  pieces=$(( (bytes_f + 1048575) / 1048576 ))
  exec 3>"$fdir/${f##*/}"  # held open, as a daemon holds its file
  for ((k = 0; k < pieces; k++)); do
    dd if="$f" bs=1M skip="$k" count=1 status=none >&3
    # Paced: piece k is due (k + 1) MiB / 125 MB/s after the file's start.
    due=$(( start + (k + 1) * 1048576 * 8 ))
    now=$(date +%s%N)
    [ "$now" -lt "$due" ] && sleep "$(( (due - now) / 1000000000 )).$(printf '%09d' $(( (due - now) % 1000000000 )))"
  done
  exec 3>&-
done
followed() { [ "$(find "$fdir" -maxdepth 1 -name '.*.cidx' | wc -l)" -ge $((follow_files - 1)) ]; }
for _ in $(seq 600); do followed && break; sleep 0.1; done
followed || die "cap-index --follow did not keep up: $(cat "$work/follow.err")"
follow_c1=$(ticks) follow_w1=$(date +%s%N)
stop_follow
follow_cpu=$(awk -v c=$((follow_c1 - follow_c0)) -v hz="$hz" -v w=$((follow_w1 - follow_w0)) \
  'BEGIN { printf "%.2f", 100 * (c / hz) / (w / 1e9) }')
follow_wall=$(awk -v w=$((follow_w1 - follow_w0)) 'BEGIN { printf "%.1f", w / 1e9 }')
follow_bytes=$(cat "$fdir"/daemonlogger.* | wc -c)
rm -rf "$fdir"

rare="host 10.0.0.7"
# A 5-tuple of the host of interest, and a one-hour window in the middle of the archive.
t0=$(tcpdump -tt -nn -c1 -r "${inputs[0]}" 2>/dev/null | cut -d' ' -f1)
t1=$(stat -c %Y "${inputs[-1]}")
since=$(awk -v a="$t0" -v b="$t1" 'BEGIN { m = (a + b) / 2; printf "%.6f", m - 1800 }')
until=$(awk -v s="$since" 'BEGIN { printf "%.6f", s + 3600 }')
mid=${inputs[$(( ${#inputs[@]} / 2 ))]}
flow=$(tcpdump -nn -r "$mid" -c 1 'tcp and src host 10.0.0.7' 2>/dev/null | awk '{print $3, $5}' | tr -d ':')
read -r a b <<<"$flow"
tuple="tcp and host ${a%.*} and port ${a##*.} and host ${b%.*} and port ${b##*.}"

pull_index() { "$cap_pull" --no-syslog -a bench -e "$rare" -r "$arch" -w "$work/index.pcap"; }
pull_scan() { "$cap_pull" --no-syslog --no-index -a bench -e "$rare" -r "$arch" -w "$work/scan.pcap"; }
pull_tcpdump() { tcpdump "${zroot[@]}" -V "$work/list" -w "$work/tcpdump.pcap" "$rare" 2>/dev/null; }
tuple_index() { "$cap_pull" --no-syslog -a bench -e "$tuple" -r "$arch" --since "@$since" --until "@$until" -w "$work/tuple.pcap"; }
tuple_scan() { "$cap_pull" --no-syslog --no-index -a bench -e "$tuple" -r "$arch" --since "@$since" --until "@$until" -w "$work/tuple_scan.pcap"; }
text() { tcpdump -tt -nn -xx -r "$1" 2>/dev/null; }

# They must agree before they are timed.
"$cap_pull" --no-syslog -n -a bench -e "$rare" -r "$arch" | grep -q '^# path: index (' || die "the rare-host pull would not use the index"
pull_index >/dev/null
pull_scan >/dev/null
pull_tcpdump
cmp -s "$work/index.pcap" "$work/scan.pcap" || die "index and scan disagree on '$rare'"
cmp -s <(text "$work/index.pcap") <(text "$work/tcpdump.pcap") || die "cap-pull and tcpdump -V disagree on '$rare'"
tuple_index >/dev/null
tuple_scan >/dev/null
cmp -s "$work/tuple.pcap" "$work/tuple_scan.pcap" || die "index and scan disagree on '$tuple'"
hits=$(tcpdump -r "$work/index.pcap" 2>/dev/null | wc -l)
tuple_hits=$(tcpdump -r "$work/tuple.pcap" 2>/dev/null | wc -l)
read_index=$("$cap_pull" --no-syslog -a bench -e "$rare" -r "$arch" -w "$work/index.pcap" | tr '\t' '\n' | sed -n 's/^read_bytes=//p')

# The disk's reads of a cold indexed pull (/proc/diskstats, the archive's
# device), and how many such reads the disk serves a second (fio, random,
# the pull's mean read size, 128 in flight, O_DIRECT, when fio is
# installed): their quotient is the least time any reader of those bytes
# takes here, so scan / floor is the best ratio this disk allows.
disk=$(basename "$(df --output=source "$arch" 2>/dev/null | tail -n1)")
disk_reads() { awk -v d="$disk" '$3 == d { print $4, $6 }' /proc/diskstats; }
cold_index=() cold_scan=() cold_tcpdump=() cold_tuple=() cold_reads=() cold_sectors=()
if [ "$can_drop" = yes ]; then
  for _ in $(seq "$runs"); do
    drop
    read -r r0 s0 < <(disk_reads || true)
    cold_index+=("$(seconds pull_index)")
    read -r r1 s1 < <(disk_reads || true)
    if [ -n "${r0:-}" ] && [ -n "${r1:-}" ]; then cold_reads+=($((r1 - r0))) cold_sectors+=($((s1 - s0))); fi
    drop; cold_scan+=("$(seconds pull_scan)")
    drop; cold_tcpdump+=("$(seconds pull_tcpdump)")
    drop; cold_tuple+=("$(seconds tuple_index)")
  done
fi
disk_iops=0 read_size=0
if [ "${#cold_reads[@]}" -gt 0 ] && command -v fio >/dev/null; then
  reads=$(median "${cold_reads[@]}") sectors=$(median "${cold_sectors[@]}")
  read_size=$(( (sectors * 512 / (reads > 0 ? reads : 1) + 4095) / 4096 * 4096 ))
  disk_iops=$(fio --name=floor --readonly --rw=randread --bs="$read_size" --iodepth=128 --ioengine=libaio --direct=1 \
      --runtime=3 --time_based --filename="$(printf '%s:' "${inputs[@]:0:8}" | sed 's/:$//')" --output-format=terse 2>/dev/null |
    awk -F';' '{ print $8 }')
  disk_iops=${disk_iops:-0}
fi
warm "${inputs[@]}"
# The sidecars were dropped with the rest: one untimed indexed pull warms
# them. The warm pulls take a tenth of a second: more runs for a steady median.
pull_index >/dev/null
warm_index=() warm_scan=() warm_tcpdump=() warm_tuple=() warm_tuple_scan=()
for _ in $(seq "$warm_runs"); do
  warm_index+=("$(seconds pull_index)")
  warm_scan+=("$(seconds pull_scan)")
  warm_tcpdump+=("$(seconds pull_tcpdump)")
  warm_tuple+=("$(seconds tuple_index)")
  warm_tuple_scan+=("$(seconds tuple_scan)")
done
med() { [ $# -gt 0 ] && median "$@" || echo 0; }

awk -v n="${#inputs[@]}" -v bytes="$total" -v cpu="$(nproc)" -v rare="$rare" -v tuple="$tuple" -v hits="$hits" \
    -v thits="$tuple_hits" -v hoi="$hoi" -v drop="$can_drop" -v ib="$index_bytes" -v readi="$read_index" \
    -v b="$(med "${build[@]}")" -v br="${build[*]}" -v bc="$(med "${build_cpu[@]}")" -v bcr="${build_cpu[*]}" \
    -v fcpu="$follow_cpu" -v fwall="$follow_wall" -v fbytes="$follow_bytes" -v fn="$follow_files" -v load0="$load_start" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" \
    -v ci="$(med "${cold_index[@]}")" -v cir="${cold_index[*]}" -v cs="$(med "${cold_scan[@]}")" -v csr="${cold_scan[*]}" \
    -v ct="$(med "${cold_tcpdump[@]}")" -v ctr="${cold_tcpdump[*]}" -v cu="$(med "${cold_tuple[@]}")" -v cur="${cold_tuple[*]}" \
    -v wi="$(med "${warm_index[@]}")" -v wir="${warm_index[*]}" -v ws="$(med "${warm_scan[@]}")" -v wsr="${warm_scan[*]}" \
    -v wt="$(med "${warm_tcpdump[@]}")" -v wtr="${warm_tcpdump[*]}" -v wu="$(med "${warm_tuple[@]}")" -v wur="${warm_tuple[*]}" \
    -v wus="$(med "${warm_tuple_scan[@]}")" -v wusr="${warm_tuple_scan[*]}" \
    -v creads="$(med "${cold_reads[@]}")" -v iops="$disk_iops" -v rsize="$read_size" -v disk="$disk" 'BEGIN {
  gib = bytes / 1073741824
  printf "archive:             %d files, %.2f GiB; %d cores; host of interest in %.3f%% of packets\n", n, gib, cpu, 100 * hoi
  printf "rare host:           \"%s\" keeps %d packets; through the index %.1f MiB read (%.2f%% of the archive)\n", rare, hits, readi / 1048576, 100 * readi / bytes
  printf "5-tuple, 1 h window: \"%s\" keeps %d packets\n", tuple, thits
  printf "index:               %.1f MiB, %.3f%% of the archive\n", ib / 1048576, 100 * ib / bytes
  printf "load average:        %s at the start, %s at the end (1, 5, 15 min)\n", load0, load
  printf "build, 1 core, warm: median %.3f s wall (%s)  %.2f GB/s; %.3f s CPU (%s)  %.2f GB/s per core\n", b, br, bytes / b / 1e9, bc, bcr, bytes / bc / 1e9
  printf "--follow, 1 Gbit/s:  %d files, %.2f GB in %.1f s (%.2f Gbit/s): %.2f%% of one core\n", fn, fbytes / 1e9, fwall, fbytes * 8 / fwall / 1e9, fcpu
  if (drop == "yes") {
    printf "cold (page cache dropped before each run):\n"
    printf "  index:        median %.3f s  (%s)\n", ci, cir
    printf "  scan:         median %.3f s  (%s)  %.0f MiB/s  %.1fx the index\n", cs, csr, bytes / 1048576 / cs, cs / ci
    printf "  tcpdump -V:   median %.3f s  (%s)  %.0f MiB/s  %.1fx the index\n", ct, ctr, bytes / 1048576 / ct, ct / ci
    printf "  5-tuple 1 h:  median %.3f s  (%s)\n", cu, cur
    if (creads > 0) printf "  indexed pull: %d reads of the disk (%s)\n", creads, disk
    if (creads > 0 && iops > 0) {
      floor = creads / iops
      printf "  the disk:     %d random reads/s of %d KiB, 128 in flight (fio): those reads take >= %.3f s; the best ratio this disk allows: %.1fx; the index is at %.0f%% of it\n", iops, rsize / 1024, floor, cs / floor, 100 * floor / ci
    } else if (creads > 0) {
      printf "  the disk:     not measured (no fio)\n"
    }
  } else {
    printf "cold: not measured: /proc/sys/vm/drop_caches cannot be written here\n"
  }
  printf "warm:\n"
  printf "  index:        median %.3f s  (%s)\n", wi, wir
  printf "  scan:         median %.3f s  (%s)  %.0f MiB/s  %.1fx the index\n", ws, wsr, bytes / 1048576 / ws, ws / wi
  printf "  tcpdump -V:   median %.3f s  (%s)  %.0f MiB/s  %.1fx the index\n", wt, wtr, bytes / 1048576 / wt, wt / wi
  printf "  5-tuple 1 h:  median %.3f s  (%s); by a scan %.3f s (%s)\n", wu, wur, wus, wusr
  bad = 0
  if (drop == "yes") {
    r = cs / ci; printf "target: rare host >= 50x the scan, cold:  %.1fx %s\n", r, (r >= 50 ? "ok" : "MISSED"); bad += (r < 50)
  }
  r = ws / wi; printf "target: rare host >= 10x the scan, warm:  %.1fx %s\n", r, (r >= 10 ? "ok" : "MISSED"); bad += (r < 10)
  t = (drop == "yes" && cu > wu) ? cu : wu
  printf "target: 5-tuple over 1 h < 1 s:            %.3f s %s\n", t, (t < 1 ? "ok" : "MISSED"); bad += (t >= 1)
  r = bytes / bc / 1e9; printf "target: build >= 1 GB/s per core (warm):  %.2f GB/s of CPU time (%.2f GB/s wall) %s\n", r, bytes / b / 1e9, (r >= 1 ? "ok" : "MISSED"); bad += (r < 1)
  printf "target: --follow <= 15%% of a core at 1 Gbit/s: %.2f%% %s\n", fcpu, (fcpu <= 15 ? "ok" : "MISSED"); bad += (fcpu > 15)
  r = 100 * ib / bytes; printf "target: index <= 3%% of the archive:       %.3f%% %s\n", r, (r <= 3 ? "ok" : "MISSED"); bad += (r > 3)
  exit (bad > 0)
}'
