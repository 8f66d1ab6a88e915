#!/usr/bin/env bash
# cap-info --archive on a 400-file rolling archive held in the page cache,
# against capinfos -a -e over the same files (the peer that reads whole
# files for the first and last packet times), in one run; the target of
# issue 16 (under a second warm) is checked at the end (exit 1 when missed).
# The answer is checked first: the last packet cap-info reports is the one
# tcpdump reads last in the newest file.
#
# Usage: bash bench/bench_health.sh [BUILD_DIR]     (default: build, or $CAPTURE_BIN)
# Environment: BENCH_FILES (400), BENCH_SIZE (4M, per file), BENCH_RUNS (3).
name=bench_health
source "$(dirname "$0")/lib.sh"
files=${BENCH_FILES:-400}
size=${BENCH_SIZE:-4M}
cap_info=$(tool cap-info)
command -v capinfos >/dev/null || die "needs capinfos (Debian package wireshark-common)"
export TZ=UTC

make_warm_archive "$work/archive" "$files" "$size"

ours() { "$cap_info" --no-syslog --dir "$work/caps" --archive "$work/archive" --gap 1h; }
peer() { capinfos -a -e -T -r "${inputs[@]}"; }
line=$(ours | sed -n 2p)
want=$(date -u -d "@$(tcpdump -tt -nn -r "${inputs[-1]}" 2>/dev/null | tail -n1 | cut -d' ' -f1 | cut -d. -f1)" +%Y-%m-%dT%H:%M:%SZ)
got=$(printf '%s\n' "$line" | tr '\t' '\n' | sed -n 's/^last=//p')
[ "$got" = "$want" ] || die "cap-info says the last packet is at $got, tcpdump $want"

t_ours=() t_peer=()
for ((r = 0; r < runs; r++)); do
  t_ours+=("$(seconds ours)")
  t_peer+=("$(seconds peer)")
done
m_ours=$(median "${t_ours[@]}") m_peer=$(median "${t_peer[@]}")
printf 'archive: %d files, %d bytes, warm; %d cores\n' "${#inputs[@]}" "$total" "$(nproc)"
printf '%-36s %8.3f s   (median of %d)\n' "cap-info --archive" "$m_ours" "$runs"
printf '%-36s %8.3f s   (median of %d)  %6.1fx ours\n' "capinfos -a -e (whole files)" "$m_peer" "$runs" \
  "$(awk -v a="$m_peer" -v b="$m_ours" 'BEGIN { print a / b }')"
if awk -v t="$m_ours" 'BEGIN { exit !(t < 1) }'; then echo "target met: under a second warm"
else echo "target MISSED: ${m_ours}s warm, not under a second"; exit 1; fi
