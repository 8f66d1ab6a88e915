#!/usr/bin/env bash
# cap-pull --from-alert against the two ways without it, in one run, on one
# synthetic rolling archive held in the page cache: N alerts (Suricata EVE
# lines made from TCP handshakes of the archive, spread over its span, their
# 5-minute margins overlapping) pulled by one `cap-pull --from-alert`, by N
# separate `cap-pull -e EXPR --since --until` runs, and by N `tcpdump -V`
# runs, one per alert, over the files of the archive. Every capture of ours
# is first checked against the separate pull of the same alert.
#
# Usage: bash bench/bench_alerts.sh [BUILD_DIR]     (default: build, or $CAPTURE_BIN)
# Environment: BENCH_FILES (32), BENCH_SIZE (64M, per file: 2 GiB in all),
#              BENCH_ALERTS (100), BENCH_RUNS (3, runs of ours),
#              BENCH_PEER_RUNS (1, runs of each N-run loop: they are long).
name=bench_alerts
source "$(dirname "$0")/lib.sh"
files=${BENCH_FILES:-32}
size=${BENCH_SIZE:-64M}
alerts=${BENCH_ALERTS:-100}
peer_runs=${BENCH_PEER_RUNS:-1}
cap_pull=$(tool cap-pull)
command -v tcpdump >/dev/null || die "needs tcpdump"
export TZ=UTC

make_warm_archive "$work/archive" "$files" "$size"
printf '%s\n' "${inputs[@]}" >"$work/list"

# N handshakes, taken evenly from the files, as Suricata alert lines.
per_file=$(((alerts + ${#inputs[@]} - 1) / ${#inputs[@]}))
: >"$work/alerts.json"
n=0
for f in "${inputs[@]}"; do
  while read -r t _ src _ dst _; do
    [ "$n" -lt "$alerts" ] || break
    dst=${dst%:}
    printf '{"timestamp":"%s","flow_id":%d,"event_type":"alert","src_ip":"%s","src_port":%s,"dest_ip":"%s","dest_port":%s,"proto":"TCP","alert":{"signature":"bench alert %d"}}\n' \
      "$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%S.%6N+0000)" "$n" "${src%.*}" "${src##*.}" "${dst%.*}" "${dst##*.}" "$n" >>"$work/alerts.json"
    n=$((n + 1))
  done < <(tcpdump -tt -nn -r "$f" -c 20000 'ip and tcp[tcpflags] == tcp-syn' 2>/dev/null | awk -v k="$per_file" '{ l[NR] = $0 } END { for (i = 0; i < k && i < NR; i++) print l[1 + int(i * NR / k)] }')
done
[ "$n" -eq "$alerts" ] || die "found $n handshakes, not $alerts"

ours() {
  rm -rf "$work/ours"
  "$cap_pull" --no-syslog --dir "$work/ours" -a bench -r "$work/archive" --from-alert "$work/alerts.json" >"$work/ours.records"
}
# The records of ours give each alert's expression and window to the peers.
ours
mapfile -t recs <"$work/ours.records"
[ "${#recs[@]}" -eq "$alerts" ] || die "ours made ${#recs[@]} pulls, not $alerts"
val() { printf '%s\n' "$2" | tr '\t' '\n' | sed -n "s/^$1=//p"; }
separate() {
  local r i=0
  rm -rf "$work/sep"
  mkdir "$work/sep"
  for r in "${recs[@]}"; do
    "$cap_pull" --no-syslog --dir "$work/sep" -a bench -r "$work/archive" --vlan -e "$(val expr "$r")" \
      --since "$(val since "$r")" --until "$(val until "$r")" -w "$work/sep/$i.pcap" >/dev/null
    i=$((i + 1))
  done
}
per_alert_tcpdump() {
  local r e i=0
  rm -rf "$work/td"
  mkdir "$work/td"
  for r in "${recs[@]}"; do
    e=$(val expr "$r")
    tcpdump "${zroot[@]}" -V "$work/list" -w "$work/td/$i.pcap" "($e) or (vlan and ($e))" 2>/dev/null
    i=$((i + 1))
  done
}

# Correct before timed: each capture of ours is the separate pull's.
separate
i=0
for r in "${recs[@]}"; do
  cmp -s <(tcpdump -tt -nn -xx -r "$(val file "$r")" 2>/dev/null) <(tcpdump -tt -nn -xx -r "$work/sep/$i.pcap" 2>/dev/null) ||
    die "alert $i: ours differs from its separate pull"
  i=$((i + 1))
done
echo "checked: the $alerts captures of ours are those of $alerts separate pulls"

t_ours=() t_sep=() t_td=()
for ((r = 0; r < runs; r++)); do t_ours+=("$(seconds ours)"); done
for ((r = 0; r < peer_runs; r++)); do t_sep+=("$(seconds separate)"); done
for ((r = 0; r < peer_runs; r++)); do t_td+=("$(seconds per_alert_tcpdump)"); done
m_ours=$(median "${t_ours[@]}") m_sep=$(median "${t_sep[@]}") m_td=$(median "${t_td[@]}")
printf 'archive: %d files, %d bytes; %d alerts, 5-minute margins; %d cores\n' "${#inputs[@]}" "$total" "$alerts" "$(nproc)"
printf '%-44s %8.3f s   (median of %d)\n' "cap-pull --from-alert (one run)" "$m_ours" "$runs"
printf '%-44s %8.3f s   (median of %d)  %6.1fx ours\n' "$alerts x cap-pull -e EXPR --since --until" "$m_sep" "$peer_runs" \
  "$(awk -v a="$m_sep" -v b="$m_ours" 'BEGIN { print a / b }')"
printf '%-44s %8.3f s   (median of %d)  %6.1fx ours\n' "$alerts x tcpdump -V LIST EXPR" "$m_td" "$peer_runs" \
  "$(awk -v a="$m_td" -v b="$m_ours" 'BEGIN { print a / b }')"
