#!/usr/bin/env bash
# cap-pull --from-alert over a synthetic archive: Suricata EVE lines, Zeek
# conn and notice lines (TSV and JSON) and our records, each pulled into a
# capture that holds what tcpdump keeps with the alert's expression over the
# alert's window; --merge; bad lines named with their line number while the
# good ones are still pulled; the alert keys in the records; each capture's
# manifest (its alerts, its digest, cap-hash --check); while it runs, the
# link at its name and the progress in its record; interrupted by SIGINT.
#
# The alert lines are HAND-WRITTEN in the formats Suricata's and Zeek's
# documentation give: Debian bookworm has no suricata package to run here,
# and Zeek is not packaged in Debian. Their tuples are flows the generator
# wrote into the archive (read back with tcpdump below).
source "$(dirname "$0")/lib.sh"
need_cmd tcpdump
need_cmd editcap
need_generator
cd "$WORK"
"$GEN" --out arch --files 6 --size 1M --seed 3 --vlan-fraction 0.3 --quiet >/dev/null
mkdir caps
zroot=()
[ "$(id -u)" = 0 ] && zroot=(-Z root)
ls arch/* >list

# Flows of the archive: a TCP handshake, an ICMP echo, an IPv6 TCP packet.
third=$(sed -n 3p list)
syn=$(tcpdump -tt -nn -r "$third" 'tcp[tcpflags] == tcp-syn and ip' 2>/dev/null | sed -n 1p)
read -r syn_t _ syn_src _ syn_dst _ <<<"$syn"
syn_dst=${syn_dst%:}
s_ip=${syn_src%.*} s_port=${syn_src##*.} d_ip=${syn_dst%.*} d_port=${syn_dst##*.}
icmp=$(tcpdump -tt -nn -r "$third" 'icmp' 2>/dev/null | sed -n 1p)
read -r icmp_t _ i_src _ i_dst _ <<<"$icmp"
i_dst=${i_dst%:}
six=$(tcpdump -tt -nn -r "$third" 'ip6 and tcp' 2>/dev/null | sed -n 1p)
read -r six_t _ six_src _ six_dst _ <<<"$six"
six_dst=${six_dst%:}
v_ip=${six_src%.*} v_port=${six_src##*.} w_ip=${six_dst%.*} w_port=${six_dst##*.}
[ -n "$s_ip" ] && [ -n "$i_src" ] && [ -n "$v_ip" ] || { fail "no flows found in the archive"; finish; exit; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.%6N+0000; }
# mjson FILE EXPR: python's print(m EXPR) of the JSON in FILE, as m.
mjson() { python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print(eval("m" + sys.argv[2]))' "$1" "$2"; }

{
  printf '{"timestamp":"%s","flow_id":1234567890123456,"in_iface":"eth0","event_type":"alert","src_ip":"%s","src_port":%s,"dest_ip":"%s","dest_port":%s,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2100498,"rev":7,"signature":"ET TEST syn seen","category":"Misc","severity":2}}\n' \
    "$(iso "$syn_t")" "$s_ip" "$s_port" "$d_ip" "$d_port"
  printf '{"timestamp":"%s","flow_id":99,"event_type":"alert","src_ip":"%s","dest_ip":"%s","proto":"ICMP","icmp_type":8,"icmp_code":0,"alert":{"signature":"ICMP echo seen"}}\n' \
    "$(iso "$icmp_t")" "$i_src" "$i_dst"
  printf '{"timestamp":"%s","event_type":"stats","stats":{"uptime":10}}\n' "$(iso "$syn_t")"
  printf '{"timestamp":"%s","event_type":"alert","src_ip":"10.0.0.1; reboot","dest_ip":"10.0.0.2","proto":"TCP"}\n' "$(iso "$syn_t")"
  printf '#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\n'
  printf '%s\tCAbc12\t%s\t%s\t%s\t%s\ttcp\t1.5\n' "$six_t" "$v_ip" "$v_port" "$w_ip" "$w_port"
  printf '{"ts":%s,"uid":"CZeek9","id.orig_h":"%s","id.orig_p":%s,"id.resp_h":"%s","id.resp_p":%s,"proto":"tcp","duration":0.5}\n' \
    "$syn_t" "$s_ip" "$s_port" "$d_ip" "$d_port"
  printf 'expr=host %s\tsince=@%s\tuntil=@%s\tsignature=by hand\n' "$d_ip" "${syn_t%.*}" "$((${syn_t%.*} + 1))"
} >alerts.txt

# reference EXPR SINCE UNTIL: tcpdump -V over the archive, cut by editcap (-A in, -B out).
reference() {
  tcpdump "${zroot[@]}" -V list -w ref.all "$1" 2>/dev/null
  editcap -A "$2" -B "$3" ref.all ref.pcap
}
text() { tcpdump -tt -nn -xx -r "$1" 2>/dev/null; }

run_tool cap-pull --no-syslog --dir caps -r arch -a grant --margin 0,2 --from-alert alerts.txt
check_eq "a bad line: exit 1" 1 "$RC"
check_match "the bad line is named with its number" "alerts.txt:4: source address: '10.0.0.1; reboot' is not" "$ERR"
check_eq "one warning only (stats and headers are skipped)" 1 "$(grep -c . <<<"$ERR")"
check_eq "five pulls for five alerts" 5 "$(grep -c 'kind=pull' <<<"$OUT")"
check_eq "five captures in the capture directory" 5 "$(ls caps/*.pcap | wc -l)"
pulls=$OUT
while IFS= read -r rec; do
  file=$(field file "$rec") expr=$(field expr "$rec") since=$(field since "$rec") until=$(field until "$rec")
  name=$(field desc "$rec")
  check_eq "$name: state done" done "$(field state "$rec")"
  check_eq "$name: vlan=yes (alerts match tagged frames)" yes "$(field vlan "$rec")"
  s=$(date -u -d "${since%Z}" +%s.%N) u=$(date -u -d "${until%Z}" +%s.%N)
  reference "$expr or (vlan and ($expr))" "$(date -u -d "@$s" '+%Y-%m-%d %H:%M:%S.%N')" "$(date -u -d "@$u" '+%Y-%m-%d %H:%M:%S.%N')"
  if cmp -s <(text "$file") <(text ref.pcap); then ok "$name: tcpdump's packets over its window"
  else fail "$name: differs from tcpdump ($(tcpdump_count "$file") vs $(tcpdump_count ref.pcap) packets)"; fi
  check_eq "$name: packets in the record" "$(tcpdump_count "$file")" "$(field packets "$rec")"
  [ "$(field packets "$rec")" -gt 0 ] && ok "$name: holds packets" || fail "$name: empty"
  beside=$(cat "$file.record")
  check_eq "$name: the record beside it, done" "$(field id "$rec")/done/$(field alert_id "$rec")" \
    "$(field id "$beside")/$(field state "$beside")/$(field alert_id "$beside")"
  check_match "$name: the record's progress, done" "^done, [0-9]+/[0-9]+ files$" "$(field progress "$beside")"
  m=$file.manifest.json
  if [ -f "$m" ]; then
    ok "$name: its manifest beside it"
    check_eq "$name: the manifest's digest is sha256sum's" "$(sha256sum "$file" | cut -d' ' -f1)" "$(mjson "$m" "['output']['sha256']")"
    check_eq "$name: the manifest lists one alert" 1 "$(mjson "$m" "['request']['alerts'].__len__()")"
    check_eq "$name: by its alert_id" "$(field alert_id "$rec")" "$(mjson "$m" "['request']['alerts'][0].get('alert_id', '')")"
    check_eq "$name: and the flow pulled for it" "$expr" "$(mjson "$m" "['request']['alerts'][0]['expression']")"
    [ "$(mjson "$m" "['sources'].__len__()")" -gt 0 ] && ok "$name: the archive files read are listed" || fail "$name: no sources"
    run_tool cap-hash --check "$m"
    check_eq "$name: cap-hash --check passes its manifest" 0 "$RC"
  else
    fail "$name: no manifest beside it"
  fi
done <<<"$pulls"

rec() { grep -F "$1" <<<"$pulls"; }
r=$(rec 'desc=ET TEST syn seen')
check_eq "Suricata: alert_id is the flow_id" 1234567890123456 "$(field alert_id "$r")"
check_eq "Suricata: signature" "ET TEST syn seen" "$(field signature "$r")"
check_match "Suricata: named after the signature" "grant_ET.TEST.syn.seen_" "$(field file "$r")"
check_eq "Suricata: the exact bidirectional tuple" \
  "tcp and ((src host $s_ip and src port $s_port and dst host $d_ip and dst port $d_port) or (src host $d_ip and src port $d_port and dst host $s_ip and dst port $s_port))" \
  "$(field expr "$r")"
r=$(rec 'desc=ICMP echo seen')
check_eq "ICMP: hosts only" "icmp and ((src host $i_src and dst host $i_dst) or (src host $i_dst and dst host $i_src))" "$(field expr "$r")"
r=$(rec 'uid=CAbc12')
check_match "Zeek TSV over IPv6: named after the uid" "grant_alert.CAbc12_" "$(field file "$r")"
check_eq "Zeek TSV: alert_id is the uid" CAbc12 "$(field alert_id "$r")"
r=$(rec 'uid=CZeek9')
check_match "Zeek JSON: window from ts and duration, the margin after" "^$(date -u -d "@${syn_t%.*}" +%Y-%m-%dT%H:%M:%S)" "$(field since "$r")"
r=$(rec 'desc=by hand')
check_eq "a record: its window exactly" "$(date -u -d "@${syn_t%.*}" +%Y-%m-%dT%H:%M:%SZ)" "$(field since "$r")"

# The same with --merge: one capture, each packet once, what the five hold.
run_tool cap-pull --no-syslog --dir caps -r arch --margin 0,2 --from-alert - --merge -w merged.pcap <alerts.txt
check_eq "--merge: exit 1 for the bad line" 1 "$RC"
check_eq "--merge: one record" 1 "$(grep -c 'kind=pull' <<<"$OUT")"
check_eq "--merge: alerts=5" 5 "$(field alerts "$OUT")"
all=$(for f in caps/*.pcap; do tcpdump -tt -nn -r "$f" 2>/dev/null; done | sort -u | wc -l)
check_eq "--merge: every packet of the five, once" "$all" "$(tcpdump_count merged.pcap)"
sorted=$(tcpdump -tt -nn -r merged.pcap 2>/dev/null | cut -d' ' -f1)
check_eq "--merge: in time order" "$(sort -n <<<"$sorted")" "$sorted"
check_eq "--merge -w: no manifest unless asked" "" "$(ls merged.pcap.manifest.json 2>/dev/null || true)"
run_tool cap-pull --no-syslog --dir caps -r arch --margin 0,2 --from-alert alerts.txt --merge -w merged2.pcap --manifest
check_eq "--merge -w --manifest: the manifest lists the five alerts" 5 "$(mjson merged2.pcap.manifest.json "['request']['alerts'].__len__()")"
run_tool cap-hash --check merged2.pcap.manifest.json
check_eq "--merge -w --manifest: cap-hash --check passes it" 0 "$RC"
run_tool cap-pull --no-syslog --dir caps3 -r arch --margin 0,2 --from-alert alerts.txt --no-manifest
check_eq "--no-manifest: five captures, no manifest" "5/0" \
  "$(ls caps3/*.pcap | wc -l)/$(find caps3 -name '*.manifest.json' | wc -l)"
run_tool cap-pull --no-syslog --dir caps -r arch --from-alert alerts.txt --merge -w - --manifest
check_eq "--manifest with -w -: a usage error" 2 "$RC"

# Its records read by `head`, which goes away after one line: the pull
# ends by SIGPIPE as any filter does, but never with a capture half done.
for _ in $(seq 30); do sed -n 1p alerts.txt; done >many.txt
{ cap-pull --no-syslog --dir caps-head -r arch --margin 0,2 --from-alert many.txt 2>/dev/null || true; } | head -n1 >/dev/null
check_eq "read by head: all 30 captures published, their records done" "30/30" \
  "$(ls caps-head/*.pcap | wc -l)/$(grep -l 'state=done' caps-head/*.record | wc -l)"

# The same signature twice in one second: two captures, numbered, not one overwritten.
{ sed -n 1p alerts.txt; sed -n 1p alerts.txt; } >twice.txt
rm -rf caps2
run_tool cap-pull --no-syslog --dir caps2 -r arch -a grant --margin 0,2 --from-alert twice.txt
check_eq "the same alert twice: exit 0" 0 "$RC"
check_eq "two captures, both named after it" 2 "$(ls caps2/grant_ET.TEST.syn.seen*.pcap | wc -l)"
check_match "the second numbered" "grant_ET.TEST.syn.seen.2_" "$OUT"
printf 'expr=host 10.0.0.1\tsince=2001-01-01\tuntil=2001-01-02\n' >old.txt
run_tool cap-pull --no-syslog --dir caps2 -r arch --from-alert old.txt
check_eq "a window the archive does not hold: exit 0" 0 "$RC"
check_match "and said" "no file of the archive covers the window" "$ERR"
check_eq "an empty capture all the same" 0 "$(field packets "$OUT")"

# Usage: refused before anything is read.
run_tool cap-pull --no-syslog --dir caps -r arch --from-alert alerts.txt -e 'host 10.0.0.1'
check_eq "--from-alert with -e: exit 2" 2 "$RC"
run_tool cap-pull --no-syslog --dir caps -r arch --from-alert alerts.txt -w x.pcap
check_eq "-w without --merge: exit 2" 2 "$RC"
run_tool cap-pull --no-syslog --dir caps -r arch --from-alert alerts.txt --margin soon
check_eq "a bad margin: exit 2" 2 "$RC"
run_tool cap-pull --no-syslog --dir caps -r arch --from-alert "$WORK/none.json"
check_eq "an input that is not there: exit 2" 2 "$RC"
run_tool cap-pull --no-syslog --dir caps -r arch --from-alert /dev/null
check_eq "no alerts: exit 0, nothing said" "0//" "$RC/$OUT/$ERR"

# While a group is read, each capture's name is a link to the file being
# written and its record says how far the reading got; SIGINT ends it
# with a valid capture, a record and a manifest that say interrupted. The
# pull is frozen (SIGSTOP) as soon as its record appears (the link comes
# just before), so that the signal comes while it runs.
"$GEN" --out big --files 8 --size 24M --seed 16 --quiet >/dev/null
cat big/* >/dev/null
first=$(tcpdump -tt -nn -c 1 -r "$(ls big/* | head -n1)" 2>/dev/null | cut -d. -f1)
printf 'expr=tcp\tsince=@%s\tuntil=@%s\tsignature=all of it\n' "$((first - 60))" "$((first + 86400))" >wide.txt
cap-pull --no-syslog --dir caps-int -r big -a grant -j 1 --from-alert wide.txt >int.out 2>int.err &
pid=$!
rec=$(wait_for_file caps-int '*all.of.it*.past.pcap.record')
kill -STOP "$pid" 2>/dev/null || true
link=${rec%.record}
[ -n "$rec" ] && [ -L "$link" ] && ok "while it runs, the capture's name is a symbolic link" || fail "no link while running"
check_eq "its record says running" running "$(field state "$(cat "$rec")")"
check_match "and how far the reading got" "^(starting|[0-9-]+T[0-9:]+Z), [0-9]+/8 files$" "$(field progress "$(cat "$rec")")"
check_match "cap-ls -v shows the progress" 'Progress: ' "$(cap-ls --dir caps-int -v --human)"
kill -INT "$pid"
kill -CONT "$pid"
set +e; wait "$pid"; rc=$?; set -e
out=$(cat int.out)
if [ "$(field state "$out")" = interrupted ]; then
  check_eq "interrupted: exit 1" 1 "$rc"
  check_eq "interrupted: the record says so" interrupted "$(field state "$(cat "$rec")")"
  check_eq "interrupted: the manifest too" interrupted "$(mjson "$link.manifest.json" "['request']['state']")"
else
  echo "note: the pull ended before the signal: $(field state "$out")"
fi
[ -f "$link" ] && [ ! -L "$link" ] && ok "after, a real file" || fail "after, not a regular file"
reads_whole "$link" && ok "after, tcpdump reads it whole" || fail "after, tcpdump cannot read it: $(cat "$WORK/tcpdump.err")"
check_eq "after, as many packets as the record says" "$(field packets "$out")" "$(tcpdump_count "$link")"
check_eq "after, nothing else left in the directory" 3 "$(ls -A caps-int | wc -l)"
finish
