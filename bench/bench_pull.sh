#!/usr/bin/env bash
# cap-pull against tcpdump on one synthetic rolling archive held in the page
# cache, in the same run: tcpdump -V LIST -w OUT EXPR (one process over the
# files), tcpdump per file + mergecap, and cap-pull over the whole archive
# and over a window of 10% of it; then cap-pull's peak memory (resident set,
# /usr/bin/time -f %M) on archives of 1 GiB and 4 GiB. Every pull is checked
# against tcpdump before anything is timed. The targets of issue 4 are
# checked at the end (exit 1 when one is missed).
#
# Usage: bash bench/bench_pull.sh [BUILD_DIR]     (default: build, or $CAPTURE_BIN)
# Environment: BENCH_FILES (32), BENCH_SIZE (64M, per file), BENCH_RUNS (3),
#              BENCH_EXPR ('host 10.0.0.7'), BENCH_MEMORY (1: also the 1 and 4 GiB archives).
name=bench_pull
source "$(dirname "$0")/lib.sh"
files=${BENCH_FILES:-32}
size=${BENCH_SIZE:-64M}
expr=${BENCH_EXPR:-host 10.0.0.7}
cap_pull=$(tool cap-pull)
command -v tcpdump >/dev/null || die "needs tcpdump"
command -v mergecap >/dev/null || die "needs mergecap (Debian package wireshark-common)"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (Debian package time)"
export TZ=UTC

make_warm_archive "$work/archive" "$files" "$size"
printf '%s\n' "${inputs[@]}" >"$work/list"

# The window: the middle tenth of the archive's time span.
t0=$(tcpdump -tt -nn -c1 -r "${inputs[0]}" 2>/dev/null | cut -d' ' -f1)
t1=$(stat -c %Y "${inputs[-1]}")
since=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", a + 0.45 * (b - a) }')
until=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", a + 0.55 * (b - a) }')

pull_full() { "$cap_pull" --no-syslog -a bench -e "$expr" -r "$work/archive" -w "$work/ours.pcap"; }
pull_window() {
  "$cap_pull" --no-syslog -a bench -e "$expr" -r "$work/archive" --since "@$since" --until "@$until" -w "$work/window.pcap"
}
tcpdump_list() { tcpdump "${zroot[@]}" -V "$work/list" -w "$work/tcpdump.pcap" "$expr" 2>/dev/null; }
tcpdump_mergecap() {
  rm -rf "$work/parts"
  mkdir "$work/parts"
  local i=0 f
  for f in "${inputs[@]}"; do
    tcpdump "${zroot[@]}" -r "$f" -w "$work/parts/$(printf %05d $i).pcap" "$expr" 2>/dev/null
    i=$((i + 1))
  done
  mergecap -w "$work/mergecap.pcap" "$work"/parts/*.pcap
}
text() { tcpdump -tt -nn -xx -r "$1" 2>/dev/null; }

# They must agree before they are timed.
pull_full >/dev/null
tcpdump_list
tcpdump_mergecap
cmp -s <(text "$work/ours.pcap") <(text "$work/tcpdump.pcap") || die "cap-pull and tcpdump -V disagree"
cmp -s <(text "$work/ours.pcap") <(text "$work/mergecap.pcap") || die "cap-pull and tcpdump + mergecap disagree"
pull_window >/dev/null
editcap -A "$(date -u -d "@$since" '+%Y-%m-%d %H:%M:%S.%6N')" -B "$(date -u -d "@$until" '+%Y-%m-%d %H:%M:%S.%6N')" \
  "$work/tcpdump.pcap" "$work/cut.pcap"
cmp -s <(text "$work/window.pcap") <(text "$work/cut.pcap") || die "the window differs from tcpdump + editcap"
matches=$(tcpdump -r "$work/ours.pcap" 2>/dev/null | wc -l)

list=() merged=() full=() window=()
for _ in $(seq "$runs"); do
  list+=("$(seconds tcpdump_list)")
  merged+=("$(seconds tcpdump_mergecap)")
  full+=("$(seconds pull_full)")
  window+=("$(seconds pull_window)")
done
l=$(median "${list[@]}") m=$(median "${merged[@]}") f=$(median "${full[@]}") w=$(median "${window[@]}")

peak() { /usr/bin/time -f %M "$cap_pull" --no-syslog -a bench -e "$expr" -r "$1" -w "$work/peak.pcap" 2>&1 >/dev/null | tail -n1; }
mem=$(peak "$work/archive")
mem1= mem4=
if [ "${BENCH_MEMORY:-1}" = 1 ]; then
  make_archive "$work/a1" $((files / 2)) "$size" --seed 2
  warm "$work"/a1/*
  mem1=$(peak "$work/a1")
  rm -rf "$work/a1"
  make_archive "$work/a4" $((files * 2)) "$size" --seed 4
  warm "$work"/a4/*
  mem4=$(peak "$work/a4")
  size4=$(cat "$work"/a4/* | wc -c)
  rm -rf "$work/a4"
fi

awk -v n="${#inputs[@]}" -v bytes="$total" -v l="$l" -v m="$m" -v f="$f" -v w="$w" -v lr="${list[*]}" \
    -v mr="${merged[*]}" -v fr="${full[*]}" -v wr="${window[*]}" -v cpu="$(nproc)" -v expr="$expr" \
    -v hits="$matches" -v mem="$mem" -v mem1="$mem1" -v mem4="$mem4" -v size4="${size4:-0}" 'BEGIN {
  mib = bytes / 1048576
  printf "archive:           %d files, %.2f GiB, page cache warm; %d cores; \"%s\" keeps %d packets\n", n, mib / 1024, cpu, expr, hits
  printf "tcpdump -V:        median %.3f s  (%s)  %6.0f MiB/s\n", l, lr, mib / l
  printf "tcpdump+mergecap:  median %.3f s  (%s)  %6.0f MiB/s\n", m, mr, mib / m
  printf "cap-pull:          median %.3f s  (%s)  %6.0f MiB/s\n", f, fr, mib / f
  printf "cap-pull 10%%:      median %.3f s  (%s)\n", w, wr
  printf "peak memory:       %.1f MiB on %.2f GiB", mem / 1024, mib / 1024
  if (mem1 != "") printf ", %.1f MiB on 1 GiB-ish (%d files), %.1f MiB on %.2f GiB", mem1 / 1024, n / 2, mem4 / 1024, size4 / 1073741824
  printf "\n"
  bad = 0
  r = l / f; printf "target: >= 2.5x tcpdump -V:          %.2fx %s\n", r, (r >= 2.5 ? "ok" : "MISSED"); bad += (r < 2.5)
  r = m / f; printf "target: >= 4x tcpdump + mergecap:    %.2fx %s\n", r, (r >= 4 ? "ok" : "MISSED"); bad += (r < 4)
  r = w / f; printf "target: 10%% window <= 20%% of full:   %.0f%% %s\n", 100 * r, (r <= 0.2 ? "ok" : "MISSED"); bad += (r > 0.2)
  top = mem; if (mem1 > top) top = mem1; if (mem4 > top) top = mem4
  printf "target: peak memory < 100 MiB:       %.1f MiB %s\n", top / 1024, (top < 102400 ? "ok" : "MISSED"); bad += (top >= 102400)
  exit (bad > 0)
}'
