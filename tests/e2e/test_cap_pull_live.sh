#!/usr/bin/env bash
# cap-pull on real archives: daemonlogger and dumpcap ring buffers written
# on lo while we send UDP to 127.0.0.1 (nowhere else), pulled with several
# expressions and windows, and compared with tcpdump over the same files
# (tcpdump -V) and with editcap -A/-B for the windows. Root only.
source "$(dirname "$0")/lib.sh"
need_root
need_cmd tcpdump
need_cmd editcap
ip link show lo >/dev/null 2>&1 || skip "no lo interface"
cd "$WORK"
base_port=$((30000 + RANDOM % 20000))

# traffic ROUNDS: rounds of datagrams to four ports on 127.0.0.1, a little
# over a second apart, so that a daemon naming files by the second rolls
# over at most once a second.
traffic() {
  local r i
  for ((r = 0; r < $1; r++)); do
    for ((i = 0; i < 40; i++)); do
      printf 'round %d datagram %d\n' "$r" "$i" >"/dev/udp/127.0.0.1/$((base_port + i % 4))"
    done
    sleep 1.1
  done
}
# wait_for_files DIR N: until DIR holds N files (10 s at most).
wait_for_files() {
  local n
  for _ in $(seq 200); do
    n=$(find "$1" -maxdepth 1 -type f | wc -l)
    [ "$n" -ge "$2" ] && return 0
    sleep 0.05
  done
  return 1
}
text() { tcpdump -tt -nn -xx -r "$1" 2>/dev/null; }
count() { { tcpdump -nn -r "$1" 2>/dev/null || true; } | wc -l; }
zroot=(-Z root)

# check_archive NAME DIR: pulls with several expressions and windows.
check_archive() {
  local name=$1 dir=$2 expr
  find "$dir" -maxdepth 1 -type f | sort >"$WORK/list.$name"
  local files
  files=$(wc -l <"$WORK/list.$name")
  [ "$files" -ge 3 ] && ok "$name: $files files in the archive" || fail "$name: only $files files"
  for expr in "udp port $base_port" "udp and (port $((base_port + 1)) or port $((base_port + 2)))" 'udp' 'tcp'; do
    run_tool cap-pull -a grant -e "$expr" -r "$dir" -w "$WORK/out.pcap"
    check_eq "$name '$expr': exit 0" "0" "$RC"
    tcpdump "${zroot[@]}" -V "$WORK/list.$name" -w "$WORK/ref.pcap" "$expr" 2>/dev/null
    if cmp -s <(text out.pcap) <(text ref.pcap); then ok "$name '$expr': as tcpdump -V ($(count out.pcap) packets)"
    else fail "$name '$expr': $(count out.pcap) packets, tcpdump -V keeps $(count ref.pcap)"; fi
  done
  # Windows from the packets' own times: a middle stretch, and a start.
  tcpdump "${zroot[@]}" -V "$WORK/list.$name" -w "$WORK/all.pcap" udp 2>/dev/null
  mapfile -t times < <(tcpdump -tt -nn -r all.pcap 2>/dev/null | cut -d' ' -f1)
  local n=${#times[@]} w since until
  for w in "$((n / 4)) $((3 * n / 4))" "0 $((n / 3))" "$((n / 2)) $((n / 2 + 1))"; do
    set -- $w
    since=${times[$1]}
    until=${times[$2]}
    run_tool cap-pull -a grant -e udp -r "$dir" --since "@$since" --until "@$until" -w "$WORK/out.pcap"
    editcap -A "$(date -u -d "@$since" '+%Y-%m-%d %H:%M:%S.%6N')" -B "$(date -u -d "@$until" '+%Y-%m-%d %H:%M:%S.%6N')" \
      all.pcap cut.pcap
    if cmp -s <(text out.pcap) <(text cut.pcap); then ok "$name window $1..$2 of $n: as editcap cuts it"
    else fail "$name window $1..$2 of $n: $(count out.pcap) packets, editcap keeps $(count cut.pcap)"; fi
  done
}

# daemonlogger, rolling over every 2000 bytes.
if command -v daemonlogger >/dev/null; then
  mkdir dl
  daemonlogger -i lo -l "$WORK/dl" -n dl.pcap -s 2000 "udp and host 127.0.0.1" >"$WORK/dl.log" 2>&1 &
  dpid=$!
  sleep 1
  traffic 5
  # The newest file is still open: pull once while the daemon writes it.
  run_tool cap-pull -a grant -e udp -r dl -w "$WORK/while.pcap"
  check_eq "daemonlogger: pulled while it writes: exit 0" 0 "$RC"
  kill "$dpid"
  wait "$dpid" 2>/dev/null || true
  check_archive daemonlogger dl
else
  echo "note: no daemonlogger: its archive is not tested"
fi

# dumpcap ring buffer, pcap, a new file every 2 kB.
if command -v dumpcap >/dev/null; then
  mkdir dc
  dumpcap -q -i lo -f "udp and host 127.0.0.1" -b filesize:2 -w "$WORK/dc/ring.pcap" -P >"$WORK/dc.log" 2>&1 &
  cpid=$!
  wait_for_files dc 1 || fail "dumpcap did not start: $(cat "$WORK/dc.log")"
  traffic 4
  sleep 0.5
  kill -INT "$cpid"
  wait "$cpid" 2>/dev/null || true
  check_archive dumpcap dc
  check_match "dumpcap names are recognised" 'layout=dumpcap' "$(cap-pull -n -a grant -e udp -r dc)"
else
  echo "note: no dumpcap: its archive is not tested"
fi
finish
