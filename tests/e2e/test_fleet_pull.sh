#!/usr/bin/env bash
# Fleet pulls (cap-pull --sensor) against real sshd instances on
# 127.0.0.2..5, started here with keys made here (fleet_lib.sh): the
# output byte for byte cap-merge's of the sensors' own pulls; the origin
# of each packet in pcapng (if_name) and in the records; a sensor killed
# mid-pull, one with a wrong host key (refused, not ignored), one that
# cannot be reached, one that says nothing past --sensor-timeout: each
# reported, the others delivered, exit 1; SIGTERM under way; groups; the
# record cap-ls shows; the dry run's sums; a sensor with two link types
# (pcapng from it, an interface per link type); the audit line names the
# sensors.
source "$(dirname "$0")/lib.sh"
need_root
[ -x /usr/sbin/sshd ] || skip "no /usr/sbin/sshd (openssh-server; .ci/deps installs it)"
need_cmd ssh
need_cmd ssh-keygen
need_cmd ssh-keyscan
need_cmd python3
need_generator
source "$(dirname "$0")/fleet_lib.sh"
cd "$WORK"
fleet_setup 4
# Four archives over the same minutes: the merge interleaves them, and
# their first packets tie (every archive starts at the same second).
for i in 1 2 3 4; do
  "$GEN" --out "s$i/archive" --files 3 --size 512K --seed "$i" --quiet >/dev/null
done
# s3's is larger, so that it is still sending when it is killed below.
"$GEN" --out s3/archive --files 6 --size 8M --seed 3 --quiet >/dev/null
cat >>fleet.conf <<EOF
sensor-group = pair: s1, s2
EOF

# ref EXPR FORMAT: each sensor's own pull (on the sensor: here, with its
# configuration), then cap-merge of them in sensor order, into ref.pcap.
ref() {
  local i files=()
  for i in "${@:3}"; do
    CAPTURE_CONF=s$i/capture.conf cap-pull -a grant -d fleet -e "$1" ${2:+-F "$2"} -w "ref$i.cap" >/dev/null
    files+=("ref$i.cap")
  done
  cap-merge ${2:+-F "$2"} -w ref.cap "${files[@]}" >/dev/null
}

# pcapng_origin FILE: "NAME PACKETS" for each interface, by its if_name.
pcapng_origin() {
  python3 - "$1" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
at, names, counts = 0, [], []
while at + 12 <= len(data):
    btype, blen = struct.unpack_from("<II", data, at)
    body = data[at + 8:at + blen - 4]
    if btype == 1:
        name, o = "", 8
        while o + 4 <= len(body):
            code, olen = struct.unpack_from("<HH", body, o)
            if code == 0:
                break
            if code == 2:
                name = body[o + 4:o + 4 + olen].decode()
            o += 4 + (olen + 3) // 4 * 4
        names.append(name)
        counts.append(0)
    elif btype == 6:
        counts[struct.unpack_from("<I", body, 0)[0]] += 1
    at += blen
for n, c in zip(names, counts):
    print(n, c)
EOF
}

# 1. All four, pcap: byte for byte cap-merge's of the sensors' own pulls.
for expr in 'udp port 53' 'tcp and not port 443'; do
  run_tool cap-pull --config fleet.conf --sensor @all -a grant -d fleet -e "$expr" -w fleet.pcap
  check_eq "fleet '$expr': exit 0" "0" "$RC"
  ref "$expr" "" 1 2 3 4
  if cmp -s fleet.pcap ref.cap; then ok "fleet '$expr': the bytes of cap-merge over the sensors' own pulls"
  else fail "fleet '$expr': differs from cap-merge's ($(tcpdump_count fleet.pcap) vs $(tcpdump_count ref.cap) packets)"; fi
done
main=$(sed -n 1p <<<"$OUT")
check_eq "the pull's record names the sensors" 's1\ns2\ns3\ns4' "$(field sensors "$main")"
check_eq "one record per sensor follows it" 4 "$(grep -c $'^kind=sensor\t' <<<"$OUT")"
sum=0
for i in 1 2 3 4; do
  line=$(grep -P "\tsensor=s$i\t" <<<"$OUT")
  n=$(field packets "$line")
  check_eq "s$i's record: done, its own pull's packets" "done $(tcpdump_count "ref$i.cap")" "$(field state "$line") $n"
  check_eq "s$i's record names the pull" "$(field id "$main")" "$(field pull "$line")"
  sum=$((sum + n))
done
check_eq "the sensors' packets add up to the pull's" "$(field packets "$main")" "$sum"

# 2. pcapng: one interface per sensor, named after it, each with its packets.
run_tool cap-pull --config fleet.conf --sensor s2 --sensor s1,s4 -a grant -d fleet -e 'udp port 53' -F pcapng -w fleet.pcapng
check_eq "pcapng fleet: exit 0" 0 "$RC"
ref 'udp port 53' "" 2 1 4
expected=$(for i in 2 1 4; do echo "s$i $(tcpdump_count "ref$i.cap")"; done)
check_eq "pcapng: an interface per sensor (if_name), in the order named, with its packets" "$expected" "$(pcapng_origin fleet.pcapng)"
check_eq "pcapng: the packets of cap-merge over the same, in order" \
  "$(tcpdump -tt -nn -r ref.cap 2>/dev/null | md5sum)" "$(tcpdump -tt -nn -r fleet.pcapng 2>/dev/null | md5sum)"

# 3. A group; into the capture directory, with its record.
run_tool cap-pull --config fleet.conf --sensor @pair -a grant -d 'fleet pair' -e 'udp port 53'
check_eq "@pair: exit 0" 0 "$RC"
main=$(sed -n 1p <<<"$OUT")
check_eq "@pair: s1 and s2" 's1\ns2' "$(field sensors "$main")"
file=$(field file "$main")
check_match "@pair: a pull in the capture directory" "^$WORK/caps/grant_fleet.pair_.*_\.past\.pcap$" "$file"
ref 'udp port 53' "" 1 2
if cmp -s "$file" ref.cap; then ok "@pair: cap-merge's bytes"; else fail "@pair: differs from cap-merge's"; fi
# Its provenance manifest (cap-manifest(5)), on by default in the capture
# directory: each sensor with what it sent, the output's digest.
m=$file.manifest.json
manifest_field() { python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$m" "$1"; }
check_eq "@pair: a manifest beside it" yes "$([ -f "$m" ] && echo yes || echo no)"
check_eq "the manifest names each sensor and how it ended" "s1 done|s2 done" \
  "$(manifest_field '"|".join(s["name"] + " " + s["state"] for s in m["sensors"])')"
check_eq "each sensor's packets, as its record says" "$(grep -P '\tsensor=s1\t' <<<"$OUT" | tr '\t' '\n' | sed -n 's/^packets=//p')" \
  "$(manifest_field 'm["sensors"][0]["packets"]')"
check_eq "the output's digest is sha256sum's" "$(sha256sum <"$file" | cut -d' ' -f1)" "$(manifest_field 'm["output"]["sha256"]')"
run_tool cap-hash --check "$m"
check_eq "cap-hash --check passes on the fleet pull's manifest" "0/" "$RC/$ERR"
run_tool cap-pull --config fleet.conf --sensor @pair -e 'udp port 53' --hash-sources -w hs.pcap
check_eq "--hash-sources with --sensor: a usage error (the sources are on the sensors)" 2 "$RC"
listed=$(cap-ls --config fleet.conf --records --all)
check_match "cap-ls shows it done, with each sensor's end" $'state=done.*progress=s1 done [0-9.]+ [KM]iB, s2 done' "$listed"
# 3b. Under way: each sensor's progress on the terminal (a tmux pane read
# back) and in cap-ls. The sensors sit behind a slow link: sensor-command
# pipes the remote pull through a 512 KiB/s throttle, so the pull lasts
# seconds by the link alone.
if command -v tmux >/dev/null 2>&1; then
  cat >slow-pull <<EOF
#!/bin/bash
set -o pipefail
"$CAPTURE_BIN/cap-pull" "\$@" | python3 -c '
import sys, time
out, start, sent, rate = sys.stdout.buffer, time.monotonic(), 0, 512 * 1024
while True:
    b = sys.stdin.buffer.read1(16384)
    if not b:
        break
    out.write(b)
    out.flush()
    sent += len(b)
    ahead = sent / rate - (time.monotonic() - start)
    if ahead > 0:
        time.sleep(ahead)
'
EOF
  chmod 755 slow-pull
  sed "s#^sensor-command = .*#sensor-command = $WORK/slow-pull#" fleet.conf >slow.conf
  sock=capture-fleet-$$
  tm() { tmux -L "$sock" -f /dev/null "$@"; }
  trap 'tm kill-server 2>/dev/null || true; fleet_stop; rm -rf "$WORK"' EXIT
  tm new-session -d -x 200 -y 20 -s f "env -i PATH='$PATH' TERM=xterm HOME='$WORK' TZ=UTC CAPTURE_SYSLOG=off bash --norc --noprofile"
  tm send-keys -t f:0 "cap-pull --config '$WORK/slow.conf' --sensor s1,s2,s4 -a grant -d 'slow fleet' -e ''; echo PULL-END rc=\$?" Enter
  # A sensor under way: the time of its last packet and what it has sent.
  going='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z [0-9.]+ (bytes|KiB|MiB)'
  each="s1 (starting|$going), s2 (starting|$going), s4 (starting|$going)"
  seen_tty= seen_ls=
  for _ in $(seq 200); do
    pane=$(tm capture-pane -p -t f:0)
    if [ -z "$seen_tty" ] && grep -Eq "s[124] $going" <<<"$pane"; then
      seen_tty=$(grep -E "^$each\$" <<<"$pane" | tail -n1 || true)
    fi
    [ -z "$seen_ls" ] && seen_ls=$(cap-ls --config slow.conf --records | grep -P '\tstate=running\t' | grep -E "progress=.*s[124] $going" || true)
    [ -n "$seen_tty" ] && [ -n "$seen_ls" ] && break
    grep -q '^PULL-END' <<<"$pane" && break
    sleep 0.1
  done
  if [ -n "$seen_tty" ]; then ok "on the terminal, each sensor's progress: $seen_tty"
  else fail "no per-sensor progress on the terminal: [$(tm capture-pane -p -t f:0 | grep -v '^$' | tail -n3)]"; fi
  if [ -n "$seen_ls" ]; then ok "cap-ls shows the running fleet pull with each sensor's progress"
  else fail "cap-ls never showed the running fleet pull's progress: [$(cap-ls --config slow.conf --records --all | head -n3)]"; fi
  for _ in $(seq 300); do tm capture-pane -p -t f:0 | grep -q '^PULL-END' && break; sleep 0.1; done
  check_match "the slow fleet pull ends well" 'PULL-END rc=0' "$(tm capture-pane -p -t f:0)"
  tm kill-server 2>/dev/null || true
  trap 'fleet_stop; rm -rf "$WORK"' EXIT
else
  echo "SKIP (part): no tmux: per-sensor progress on a terminal not checked"
fi

run_tool cap-pull --config fleet.conf --sensor @nope -e ''
check_eq "an unknown group: exit 2" 2 "$RC"
check_match "... named" "@nope: no such group" "$ERR"
run_tool cap-pull --config fleet.conf --sensor -oProxyCommand=x -e ''
check_eq "a sensor name that ssh would take for an option: exit 2" 2 "$RC"

# 4. One killed mid-pull: reported, the others delivered, exit 1. The
# output goes into a FIFO read only after s3's pull is killed, so s3 is
# held back by its ssh channel until then, still sending.
mkfifo out.fifo
cap-pull --config fleet.conf --sensor @all -a grant -d fleet -e '' -F pcapng -w - >out.fifo 2>kill.err &
pull=$!
exec 3<out.fifo
victim=
for _ in $(seq 100); do
  for p in $(fleet_descendants "${FLEET_PIDS[2]}"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = cap-pull ] && victim=$p
  done
  [ -n "$victim" ] && break
  sleep 0.1
done
if [ -n "$victim" ]; then
  # Mid-pull: it has written 2 MiB (its header, and packets), and the
  # rest of its 48 MiB cannot all fit in the pipes and buffers between.
  for _ in $(seq 100); do
    w=$(sed -n 's/^wchar: //p' "/proc/$victim/io" 2>/dev/null || echo 0)
    [ "${w:-0}" -gt 2097152 ] && break
    sleep 0.1
  done
  kill -9 "$victim"
  ok "s3's remote cap-pull found and killed mid-pull"
else
  fail "s3's remote cap-pull was not found"
fi
cat <&3 >killed.pcapng
exec 3<&-
set +e
wait "$pull"
RC=$?
set -e
check_eq "one sensor killed: exit 1" 1 "$RC"
echo "stderr of the pull: $(cat kill.err)"
check_match "s3 reported, with ssh's exit status" "cap-pull: s3: .*ssh: exit status" "$(cat kill.err)"
origin=$(pcapng_origin killed.pcapng)
ref '' "" 1 2 4
for i in 1 2 4; do
  check_eq "killed s3: s$i still delivered all its packets" "s$i $(tcpdump_count "ref$i.cap")" "$(grep "^s$i " <<<"$origin" || true)"
done
all3=$(CAPTURE_CONF=s3/capture.conf cap-pull -a grant -d fleet -e '' -w - | tcpdump -nn -r - 2>/dev/null | wc -l)
got3=$(grep '^s3 ' <<<"$origin" | cut -d' ' -f2 || true)
if [ "${got3:-0}" -gt 0 ] && [ "$got3" -lt "$all3" ]; then ok "killed s3: part of its $all3 packets ($got3)"; else fail "killed s3: all its packets came ($got3 of $all3)"; fi
if reads_whole killed.pcapng; then ok "the output is whole all the same"; else fail "the output is broken: $(cat tcpdump.err)"; fi

# 4b. Interrupted (SIGTERM, as cap-stop sends it) under way: exit 1, the
# capture whole, every ssh and every remote pull ended.
mkfifo int.fifo
cap-pull --config fleet.conf --sensor @all -a grant -d fleet -e '' -F pcapng -w - >int.fifo 2>int.err &
pull=$!
exec 3<int.fifo
dd bs=65536 count=1 iflag=fullblock status=none <&3 >int.pcapng  # under way
kill -TERM "$pull"
cat <&3 >>int.pcapng
exec 3<&-
set +e
wait "$pull"
RC=$?
set -e
check_eq "interrupted: exit 1" 1 "$RC"
if reads_whole int.pcapng; then ok "interrupted: the capture is whole"; else fail "interrupted: broken capture: $(cat tcpdump.err)"; fi
left=
for _ in $(seq 100); do
  left=$(for p in "${FLEET_PIDS[@]}"; do fleet_descendants "$p"; done | while read -r c; do
    [ "$(cat "/proc/$c/comm" 2>/dev/null)" = cap-pull ] && echo "$c"; done || true)
  [ -z "$left" ] && break
  sleep 0.1
done
check_eq "interrupted: no remote pull left running" "" "$left"

# 5. A wrong host key for s4 in known_hosts: refused, never accepted.
sed "s|$WORK/known_hosts|$WORK/known_hosts.bad|" ssh_config >ssh_config.bad
ssh-keygen -q -t ed25519 -N '' -f other_key
grep -v '^127.0.0.5\|^\[127.0.0.5\]' known_hosts >known_hosts.bad
printf '[127.0.0.5]:%s %s\n' "$FLEET_PORT" "$(cut -d' ' -f1,2 other_key.pub)" >>known_hosts.bad
cp known_hosts.bad known_hosts.bad.before
sed "s|ssh -F $WORK/ssh_config|ssh -F $WORK/ssh_config.bad|" fleet.conf >fleet.bad.conf
run_tool cap-pull --config fleet.bad.conf --sensor s1,s4 -a grant -d fleet -e 'udp port 53' -w hostkey.pcap
check_eq "wrong host key: exit 1" 1 "$RC"
echo "stderr of the pull: $ERR"
check_match "s4 refused, and the reason says host key" "cap-pull: s4: .*[Hh]ost key" "$ERR"
check_eq "s4's record: failed" failed "$(field state "$(grep -P '\tsensor=s4\t' <<<"$OUT")")"
ref 'udp port 53' "" 1
if cmp -s hostkey.pcap ref.cap; then ok "wrong host key: s1's packets only, s4's absent"; else fail "wrong host key: not s1's packets alone"; fi
if cmp -s known_hosts.bad known_hosts.bad.before; then ok "known_hosts untouched"; else fail "known_hosts changed"; fi

# 6. Unreachable: nothing listens on 127.0.0.9.
printf 'Host gone\n  HostName 127.0.0.9\n' | cat - ssh_config >ssh_config.gone
sed "s|ssh -F $WORK/ssh_config|ssh -F $WORK/ssh_config.gone|" fleet.conf >fleet.gone.conf
run_tool cap-pull --config fleet.gone.conf --sensor gone,s2 -a grant -d fleet -e 'udp port 53' -w gone.pcap
check_eq "unreachable sensor: exit 1" 1 "$RC"
echo "stderr of the pull: $ERR"
check_match "gone reported, with ssh's words" "cap-pull: gone: .*(refused|connect)" "$ERR"
ref 'udp port 53' "" 2
if cmp -s gone.pcap ref.cap; then ok "unreachable: s2 delivered"; else fail "unreachable: s2's packets are not all there"; fi
run_tool cap-pull --config fleet.gone.conf --sensor gone -a grant -d fleet -e 'udp port 53' -w none.pcap
check_eq "every sensor failed: exit 1" 1 "$RC"
if [ -e none.pcap ]; then fail "every sensor failed, yet a capture was made"; else ok "every sensor failed: no capture"; fi

# 6b. A sensor that accepts the connection and then says nothing (not
# even ssh's banner): given up after --sensor-timeout, the others delivered.
python3 - "$WORK/mute.ready" <<'EOF' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.6", 2222))
s.listen(4)
open(sys.argv[1], "w").close()
held = []
s.settimeout(60)
try:
    while True:
        held.append(s.accept()[0])
except OSError:
    pass
EOF
mute=$!
for _ in $(seq 100); do [ -e mute.ready ] && break; sleep 0.1; done
printf 'Host mute\n  HostName 127.0.0.6\n  Port 2222\n' | cat - ssh_config >ssh_config.mute
sed "s|ssh -F $WORK/ssh_config|ssh -F $WORK/ssh_config.mute|" fleet.conf >fleet.mute.conf
started=$(date +%s)
run_tool cap-pull --config fleet.mute.conf --sensor s1,mute --sensor-timeout 2 -a grant -d fleet -e 'udp port 53' -w mute.pcap
took=$(($(date +%s) - started))
kill "$mute" 2>/dev/null || true
check_eq "a mute sensor: exit 1" 1 "$RC"
check_match "... given up after the timeout, and said so" "cap-pull: mute: no data for 2 s" "$ERR"
if [ "$took" -lt 30 ]; then ok "... within the timeout's reach (${took}s)"; else fail "the mute sensor held the pull ${took}s"; fi
ref 'udp port 53' "" 1
if cmp -s mute.pcap ref.cap; then ok "a mute sensor: s1 delivered"; else fail "a mute sensor: s1's packets are not all there"; fi

# 7. The dry run: each sensor's own, summed.
run_tool cap-pull --config fleet.conf --sensor @all -n -e ''
check_eq "dry run: exit 0" 0 "$RC"
total=0
for i in 1 2 3 4; do
  b=$(CAPTURE_CONF=s$i/capture.conf cap-pull -n -e '' | sed -n 's/^# bytes: \([0-9]*\).*/\1/p')
  check_eq "dry run: s$i's bytes, as its own dry run says" "$b" "$(field bytes "$(grep -P "\tsensor=s$i\t" <<<"$OUT")")"
  total=$((total + b))
done
check_match "dry run: the sum" "# .*bytes: $total " "$OUT"
run_tool cap-pull --config fleet.gone.conf --sensor gone,s1 -n -e ''
check_eq "dry run with an unreachable sensor: exit 1" 1 "$RC"
check_match "... which is named" "gone: ssh: exit status 255" "$ERR"

# 7b. A sensor whose window holds two link types (one of s2's files made
# raw IP): with -F pcapng the sensors send pcapng, and each of s2's link
# types is an interface of the output named s2; with pcap, s2 says why it
# cannot, and s1 is delivered.
need_cmd editcap
first=$(ls s2/archive/* | head -n1)
cp -p "$first" s2/ether.keep  # put back after
editcap -T rawip "$first" s2/raw.pcap && mv s2/raw.pcap "$first"
# pcapng_packets FILE: "LINKTYPE SECONDS.NANOSECONDS CAPLEN DIGEST" for each packet.
pcapng_packets() {
  python3 - "$1" <<'PY'
import hashlib, struct, sys
data = open(sys.argv[1], "rb").read()
at, ifaces = 0, []
while at + 12 <= len(data):
    btype, blen = struct.unpack_from("<II", data, at)
    body = data[at + 8:at + blen - 4]
    if btype == 1:
        resol, o = 6, 8
        while o + 4 <= len(body):
            code, olen = struct.unpack_from("<HH", body, o)
            if code == 0:
                break
            if code == 9:
                resol = body[o + 4]
            o += 4 + (olen + 3) // 4 * 4
        ifaces.append((struct.unpack_from("<H", body, 0)[0], 10 ** resol))
    elif btype == 6:
        iface, hi, lo, caplen = struct.unpack_from("<IIII", body, 0)
        linktype, per_sec = ifaces[iface]
        t = hi << 32 | lo
        ns = t % per_sec * 1000000000 // per_sec
        print(linktype, "%d.%09d" % (t // per_sec, ns), caplen, hashlib.sha1(body[20:20 + caplen]).hexdigest())
    at += blen
PY
}
run_tool cap-pull --config fleet.conf --sensor s1,s2 -a grant -d fleet -e '' -F pcapng -w mixed.pcapng
check_eq "two link types on s2, pcapng: exit 0" 0 "$RC"
ref '' pcapng 1 2
check_eq "two link types: an interface per sensor and link type, named after the sensor, with its packets" \
  "s1 $(tcpdump_count ref1.cap)|s2 $(pcapng_packets ref2.cap | grep -c '^101 ')|s2 $(pcapng_packets ref2.cap | grep -c '^1 ')" \
  "$(pcapng_origin mixed.pcapng | paste -sd'|')"
[ "$(pcapng_packets mixed.pcapng | grep -c '^101 ')" -gt 0 ] && ok "two link types: raw IP packets in the output" ||
  fail "two link types: no raw IP packet in the output"
check_eq "two link types: the packets of cap-merge over the sensors' own pulls, in order" \
  "$(pcapng_packets ref.cap | md5sum)" "$(pcapng_packets mixed.pcapng | md5sum)"
run_tool cap-pull --config fleet.conf --sensor s1,s2 -a grant -d fleet -e '' -w mixed.pcap
check_eq "two link types on s2, pcap: exit 1" 1 "$RC"
check_match "s2 says why, and what to do" "cap-pull: s2: .*link types.*-F pcapng" "$ERR"
ref '' "" 1
if cmp -s mixed.pcap ref.cap; then ok "two link types, pcap: s1 delivered"; else fail "two link types, pcap: s1's packets are not all there"; fi
mv s2/ether.keep "$first"

# 8. The audit line names the sensors (and the outcome, and who failed).
source "$CAPTURE_SOURCE/tests/e2e/syslog_lib.sh"
start_syslog
trap 'stop_syslog; fleet_stop; rm -rf "$WORK"' EXIT
cap-pull --config fleet.conf --sensor s1,s2 -a grant -d fleet -e 'udp port 53' -w audited.pcap >/dev/null
check_match "the audit line names the sensors" 'pull.*ok.*sensors="?s1,s2' "$(syslog_lines 'sensors="?s1,s2')"
cap-pull --config fleet.gone.conf --sensor s1,gone -a grant -d fleet -e 'udp port 53' -w audited2.pcap >/dev/null 2>&1 || true
check_match "a partial one names the sensor that failed" 'partial.*failed_sensors="?gone' "$(syslog_lines 'failed_sensors')"
finish
