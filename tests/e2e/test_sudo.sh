#!/usr/bin/env bash
# Under sudo an analyst gets no more than the tools (SECURITY.md): each
# attack of issue 12 run for real by an unprivileged user through sudo,
# refused (exit 2, or 1 for a capture not stopped) and audited at a real
# receiver; and the legitimate uses (start, list, stop one's own, pull and
# merge into the capture directory) still work.
#
# The test runs in a private mount namespace with an overlay on /etc: its
# users (useradd), its sudoers drop-in, /etc/capture.conf and
# /etc/capture.d are seen by this test's processes only, and vanish with
# it (the traps remove them too).
if [ -z "${CAPTURE_SUDO_TEST_NS:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
  command -v unshare >/dev/null 2>&1 || { echo "SKIP: needs unshare"; exit 77; }
  CAPTURE_SUDO_TEST_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/syslog_lib.sh"
need_root
for c in sudo useradd userdel groupadd setpriv tcpdump python3 timeout; do need_cmd "$c"; done
ip link show lo >/dev/null 2>&1 || skip "no lo interface"
chmod 755 "$WORK"

# /etc, privately: an overlay whose upper layer is a tmpfs of ours.
mkdir "$WORK/etc-upper"
mount -t tmpfs -o mode=0755 tmpfs "$WORK/etc-upper" || skip "cannot mount a tmpfs"
mkdir "$WORK/etc-upper/up" "$WORK/etc-upper/work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$WORK/etc-upper/up,workdir=$WORK/etc-upper/work" /etc ||
  skip "cannot overlay /etc in a private mount namespace"
A=cap12a$$ B=cap12b$$ G=cap12g$$
sudoers=/etc/sudoers.d/capture-test-$$
cleanup() {
  stop_syslog
  for pid in "${victims[@]}"; do kill "$pid" 2>/dev/null || true; done
  cap-ls --dir "$caps" --records 2>/dev/null | cap-stop --dir "$caps" --wait 5 >/dev/null 2>&1 || true
  rm -f "$sudoers"
  userdel "$A" 2>/dev/null || true
  userdel "$B" 2>/dev/null || true
  groupdel "$G" 2>/dev/null || true
  umount /etc 2>/dev/null || true
  umount "$WORK/etc-upper" 2>/dev/null || true
  rm -rf "$WORK"
}
victims=()
caps=$WORK/caps
trap cleanup EXIT
groupadd "$G"
useradd -M -d "$WORK/home-a" -s /bin/sh -G "$G" "$A"
useradd -M -d "$WORK/home-b" -s /bin/sh -G "$G" "$B"
mkdir -p "$WORK/home-a" "$WORK/home-b" "$WORK/archive"
chown "$A:" "$WORK/home-a"
chown "$B:" "$WORK/home-b"
bin=$WORK/bin  # the tools, where both users may run them
mkdir "$bin"
cp "$CAPTURE_BIN"/cap-* "$bin/"
chmod 755 "$bin" "$bin"/cap-*
tools="$bin/cap-start, $bin/cap-stop, $bin/cap-ls, $bin/cap-pull, $bin/cap-merge, $bin/cap-hash"
# As the issue found it: NOPASSWD, unpinned command lines, and an admin who
# let the CAPTURE_* variables through env_reset.
cat >"$sudoers" <<EOF
Defaults:$A env_keep += "CAPTURE_CONF CAPTURE_DIR CAPTURE_SYSLOG CAPTURE_SYSLOG_SOCKET"
$A ALL=(root) NOPASSWD: $tools
$B ALL=(root) NOPASSWD: $tools
EOF
chmod 440 "$sudoers"

start_syslog
unset CAPTURE_SYSLOG CAPTURE_SYSLOG_SOCKET
seeds=$CAPTURE_SOURCE/tests/fuzz/seeds/fuzz_capture_reader
cp "$seeds/le_ns.pcap" "$WORK/archive/daemonlogger.pcap.1700000000"
chmod 644 "$WORK/archive"/*
cat >/etc/capture.conf <<EOF
dir = $caps
group = $G
archive = $WORK/archive
syslog-socket = $SYSLOG_SOCKET
EOF
chmod 644 /etc/capture.conf
mkdir -m 755 /etc/capture.d

# as USER COMMAND...: runs COMMAND as USER (their groups, no root left),
# with $WORK/home-USER as the working directory.
as() {
  local user=$1
  shift
  (cd "$WORK/home-${user:5:1}" && setpriv --reuid="$user" --regid="$user" --init-groups -- "$@")
}
# sudo_as USER TOOL ARGS...: USER runs "sudo TOOL ARGS" (TOOL from $bin);
# $OUT, $ERR, $RC as run_tool sets them.
sudo_as() {
  local user=$1 tool=$2
  shift 2
  run_tool timeout 30 setpriv --reuid="$user" --regid="$user" --init-groups -- sudo -n "$bin/$tool" "$@"
}
# refused WHAT PATTERN: the last sudo_as was refused (exit 2) saying
# PATTERN, and a refusal naming who asked reached the audit trail.
refused() {
  check_eq "$1: exit 2" 2 "$RC"
  check_match "$1: says why" "$2" "$ERR"
  check_match "$1: audited, naming the caller" "outcome=refused user=root sudo_user=$who .*refused=" \
    "$(syslog_lines "outcome=refused user=root sudo_user=$who .*reason=.*$3" | tail -n1)"
}
port=$((42000 + RANDOM % 2000))
send() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); [s.sendto(b"x"*int(sys.argv[2]),("127.0.0.1",int(sys.argv[1]))) for _ in range(int(sys.argv[3]))]' "$1" "$2" "$3"; }

who=$A
# 1. A configuration of the analyst's own, read as root.
printf 'user = root\ngroup = root\ndir = /etc/cron.d\nfile-mode = 0644\nsyslog = off\n' >"$WORK/home-a/evil.conf"
chown "$A:" "$WORK/home-a/evil.conf"
sudo_as "$A" cap-start --config "$WORK/home-a/evil.conf" -i lo --count 1 -a x -d y -e "host 127.0.0.1"
refused "--config of the analyst's" "^cap-start: --config: refused: .*allow-config" "allow-config"
check_eq "nothing was created in /etc/cron.d" "" "$(ls /etc/cron.d 2>/dev/null | grep -F x_y_ || true)"
run_tool env CAPTURE_CONF="$WORK/home-a/evil.conf" setpriv --reuid="$A" --regid="$A" --init-groups -- \
  sudo -n "$bin/cap-start" -i lo --count 1 -a x -d y -e "host 127.0.0.1"
refused "CAPTURE_CONF" "^cap-start: CAPTURE_CONF: refused" "allow-config"
sudo_as "$A" cap-start --dir /etc/cron.d -i lo --count 1 -a x -d y -e "host 127.0.0.1"
refused "--dir outside the capture directories" "^cap-start: --dir: refused: not inside the configured capture directories" "configured capture"
sudo_as "$A" cap-start --dir "$caps/../../../root/new" -i lo --count 1 -a x -e "host 127.0.0.1"
refused "--dir that climbs out with .." "^cap-start: --dir: refused" "configured capture"
check_eq "no directory was made under /root" "" "$(ls -d /root/new 2>/dev/null || true)"
run_tool env CAPTURE_DIR=/root/new setpriv --reuid="$A" --regid="$A" --init-groups -- sudo -n "$bin/cap-ls"
refused "CAPTURE_DIR outside" "^cap-ls: CAPTURE_DIR: refused" "configured capture"
# Allowed to name a file of their own, the admin's keys in it are still refused.
echo "allow-config = $G" >/etc/capture.d/50-allow.conf
chmod 644 /etc/capture.d/50-allow.conf
sudo_as "$A" cap-start --config "$WORK/home-a/evil.conf" -i lo --count 1 -a x -d y -e "host 127.0.0.1"
refused "allow-config: the key user is still the admin's" "^cap-start: --config: refused: the admin's keys \(file-mode,group,syslog,user\) may be set only in /etc/capture.conf" "admin's keys"
printf 'stale-age = 2h\n' >"$WORK/home-a/mine.conf"
chown "$A:" "$WORK/home-a/mine.conf"
sudo_as "$A" cap-ls --config "$WORK/home-a/mine.conf"
check_eq "allow-config: a harmless file of one's own is read" "0:" "$RC:$ERR"

# 2. Any file readable as root, a line at a time.
sudo_as "$A" cap-ls --config /etc/shadow
check_eq "--config /etc/shadow: exit 2" 2 "$RC"
check_match "refused: the caller cannot read it" "^cap-ls: --config: refused: the caller cannot read it" "$ERR"
if grep -q 'root:' <<<"$ERR"; then fail "a line of /etc/shadow was shown: $ERR"; else ok "no line of /etc/shadow is shown"; fi
rm /etc/capture.d/50-allow.conf
printf 'stale-age = 1d\nthe secret is SECRET-1234\n' >/etc/capture.d/60-secret.conf
chmod 600 /etc/capture.d/60-secret.conf
sudo_as "$A" cap-ls
check_eq "a bad line in a file the analyst cannot read: exit 2" 2 "$RC"
check_match "the line is named" "^cap-ls: /etc/capture.d/60-secret.conf:2: not a \"key = value\" line \(its text is not shown" "$ERR"
if grep -q SECRET <<<"$ERR"; then fail "the secret line was quoted: $ERR"; else ok "its text is not quoted"; fi
rm /etc/capture.d/60-secret.conf
printf 'user = root\n' >/etc/capture.d/70-writable.conf
chmod 666 /etc/capture.d/70-writable.conf
sudo_as "$A" cap-ls
refused "a system file writable by others is not read" "^cap-ls: /etc/capture.d/70-writable.conf: refused: not read .*writable by group or others" "writable"
rm /etc/capture.d/70-writable.conf

# 5. The audit trail is not the audited's to turn off.
sudo_as "$A" cap-start --no-syslog -i lo --count 1 -a x -e "host 127.0.0.1"
refused "--no-syslog" "^cap-start: --no-syslog: refused: the audit trail is the admin's" "allow-no-syslog"
run_tool env CAPTURE_SYSLOG=off setpriv --reuid="$A" --regid="$A" --init-groups -- sudo -n "$bin/cap-ls"
refused "CAPTURE_SYSLOG=off" "^cap-ls: CAPTURE_SYSLOG: refused" "audit trail"
run_tool env CAPTURE_SYSLOG_SOCKET=/dev/null setpriv --reuid="$A" --regid="$A" --init-groups -- sudo -n "$bin/cap-ls"
refused "CAPTURE_SYSLOG_SOCKET" "^cap-ls: CAPTURE_SYSLOG_SOCKET: refused" "audit trail"

# Legitimate: start (the analyst defaults to SUDO_USER), list, stop one's own.
sudo_as "$A" cap-start -i lo -e "udp and dst port $port"
check_eq "sudo cap-start of one's own: exit 0" "0:" "$RC:$ERR"
id_a=$(field id "$OUT")
check_eq "the analyst defaults to SUDO_USER" "$A" "$(field analyst "$OUT")"
check_eq "the record's user is the caller" "$A" "$(field user "$OUT")"
# 6. Bounded by default: a day, a tenth of the free space.
check_eq "max-duration by default: a day" 86400 "$(field max_duration "$OUT")"
check_match "max-size by default: a share of the free space" '^[1-9][0-9]*$' "$(field max_size "$OUT")"
check_match "the start is audited with both names" "action=start outcome=ok user=root sudo_user=$A id=$id_a" \
  "$(syslog_lines "action=start outcome=ok .*id=$id_a")"
sudo_as "$A" cap-ls -f "$A"
check_eq "sudo cap-ls lists it" "$id_a" "$(field id "$OUT")"
sudo_as "$A" cap-start -i lo --duration 0 -e "udp and dst port $port"
check_eq "--duration 0 is beyond the default max-duration" 2 "$RC"

# 4. Another analyst's capture cannot be stopped, even through a pipe.
who=$B
run_tool bash -c "cd '$WORK/home-b' && setpriv --reuid=$B --regid=$B --init-groups -- sudo -n $bin/cap-ls -f $A |
  setpriv --reuid=$B --regid=$B --init-groups -- sudo -n $bin/cap-stop"
check_eq "sudo cap-ls -f victim | sudo cap-stop: exit 1" 1 "$RC"
check_match "says whose it is" "$id_a: refused: it is $A's capture; stopping another's needs membership of an admin-group \(none is configured\)" "$ERR"
check_match "the refused stop is audited" "action=stop outcome=refused user=root sudo_user=$B id=$id_a" \
  "$(syslog_lines "action=stop outcome=refused .*id=$id_a")"
sudo_as "$A" cap-ls -f "$A"
check_eq "the victim's capture still runs" running "$(field state "$OUT")"
who=$A
sudo_as "$A" cap-stop "$id_a"
check_eq "sudo cap-stop of one's own: exit 0" "0:" "$RC:$ERR"
check_eq "and it stopped" stopped "$(field state "$OUT")"
check_match "the stop is audited" "action=stop outcome=ok user=root sudo_user=$A id=$id_a" \
  "$(syslog_lines "action=stop outcome=ok .*id=$id_a")"

# An admin group may stop anyone's.
sudo_as "$A" cap-start -i lo -e "udp and dst port $port"
id_a=$(field id "$OUT")
echo "admin-group = $G" >/etc/capture.d/40-admins.conf
chmod 644 /etc/capture.d/40-admins.conf
sudo_as "$B" cap-stop "$id_a"
check_eq "a member of admin-group stops another's capture" "0:stopped" "$RC:$(field state "$OUT")"
rm /etc/capture.d/40-admins.conf

# 3. A forged record naming a root process: never signalled. Written by
# the analyst (a member of the capture group may write in the directory)
# it is not trusted; written as root, the process is still not ours.
sleep 600 &
victims+=($!)
victim=$!
pstart=$(awk '{sub(/.*\) /, ""); print $20}' "/proc/$victim/stat")
forge() {  # forge ID OWNER
  local f="$caps/forged_$1_Thu.Jan01.2026-00.00.00.UTC_1767225600_.pcap"
  printf 'id=%s\tkind=live\tstate=running\tanalyst=%s\tfile=%s\tstarted=2026-01-01T00:00:00Z\tpid=%s\tpstart=%s\tuser=%s\n' \
    "$1" "$A" "$f" "$victim" "$pstart" "$A" >"$f.record"
  chown "$2" "$f.record"
}
forge fakeaa "$A"
sudo_as "$A" cap-stop fakeaa
check_eq "a record of the analyst's: exit 1" 1 "$RC"
check_match "is not trusted" "fakeaa: refused: its record .* is owned by uid [0-9]+, not by root or the capture user" "$ERR"
forge fakebb root
sudo_as "$A" cap-stop fakebb
check_match "a root record naming a sleep: the process is not a capture" "fakebb: refused: process $victim is not $bin/cap-start" "$ERR"
check_match "the refusal is audited" "action=stop outcome=refused user=root sudo_user=$A id=fakebb" \
  "$(syslog_lines "action=stop outcome=refused .*id=fakebb")"
mkdir -p "$WORK/home-a/d"
cp "$caps"/forged_fakebb_*.record "$WORK/home-a/d/"
chown -R "$A:" "$WORK/home-a/d"
sudo_as "$A" cap-stop --dir "$WORK/home-a/d" fakebb
check_eq "a record in a directory of the analyst's: --dir refused" 2 "$RC"
if kill -0 "$victim" 2>/dev/null; then ok "the root process named by forged records was never signalled"; else fail "cap-stop killed a root process"; fi
rm -f "$caps"/forged_*

# Control characters and newlines in analyst, description and expression
# reach syslog escaped, and a terminal never raw.
esc=$'\e'
sudo_as "$A" cap-start -i lo -a "ev${esc}[31mil" -d $'two\nlines\r' -e "udp and dst port $port"
check_eq "a hostile analyst and description: started" 0 "$RC"
id_h=$(field id "$OUT")
line=$(syslog_lines "action=start outcome=ok .*id=$id_h")
check_match "the audit line escapes them" 'analyst="ev\\x1b\[31mil" .*desc="two\\x0alines\\x0d"' "$line"
if grep -q "$esc" "$SYSLOG_FILE"; then fail "a raw ESC reached syslog"; else ok "no raw ESC reached syslog"; fi
run_tool script -qec "setpriv --reuid=$A --regid=$A --init-groups -- sudo -n $bin/cap-ls --human -v" /dev/null
if grep -q "$esc\[31m" <<<"$OUT"; then fail "a raw escape reached the terminal"; else ok "the terminal shows it as \\x1b"; fi
sudo_as "$A" cap-start -i lo -a x -e $'udp and \e]0;owned\a port 1'
check_eq "a hostile expression: refused" 2 "$RC"
if grep -q "$esc" <<<"$ERR"; then fail "a raw ESC in the message"; else ok "the message shows no raw ESC"; fi
check_match "its refusal is audited, escaped" 'action=start outcome=refused .*expr="udp and \\x1b\]0;owned\\x07 port 1"' \
  "$(syslog_lines 'action=start outcome=refused .*owned')"
sudo_as "$A" cap-stop "$id_h"

# Symbolic links and FIFOs planted in the shared capture directory by a
# member of the capture group: never followed, never waited on.
as "$A" ln -s /etc/shadow "$caps/planted_a.pcap.record"
as "$A" mkfifo "$caps/planted_b.pcap.record"
sudo_as "$A" cap-ls --all
check_match "a planted link is reported, not followed" "planted_a.pcap.record: a symbolic link, not followed" "$ERR"
check_match "a planted FIFO is reported, not read" "planted_b.pcap.record: not a regular file" "$ERR"
if grep -q 'root:' <<<"$OUT$ERR"; then fail "/etc/shadow was read through the link"; else ok "/etc/shadow was not read"; fi
sudo_as "$A" cap-stop -f nobody
check_eq "cap-stop does not hang on them" 0 "$RC"
rm -f "$caps"/planted_*

# 6. A capture that reaches the admin's max-size ends cleanly, with its
# final record and its audit line.
echo "max-size = 2K" >/etc/capture.d/30-small.conf
chmod 644 /etc/capture.d/30-small.conf
sudo_as "$A" cap-start -i lo -e "udp and dst port $port"
id_s=$(field id "$OUT")
check_eq "max-size in the record" 2048 "$(field max_size "$OUT")"
sudo_as "$A" cap-start -i lo --max-size 1M -e "udp and dst port $port"
check_eq "--max-size beyond max-size: refused" 2 "$RC"
for ((i = 0; i < 50; i++)); do
  send "$port" 200 5
  sudo_as "$A" cap-ls --all -f "$A"
  st=$(grep -P "id=$id_s\t" <<<"$OUT" || true)
  [ "$(field state "$st")" = running ] || break
done
check_eq "it ended at the limit" "limit/size" "$(field state "$st")/$(field limit "$st")"
size=$(stat -c %s "$(field file "$st")")
if [ "$size" -le 2048 ]; then ok "its file holds at most 2K ($size)"; else fail "its file holds $size bytes"; fi
check_match "its end is audited" "action=limit outcome=limit .*id=$id_s .*limit=size" "$(syslog_lines "action=limit .*id=$id_s")"
rm /etc/capture.d/30-small.conf

# Pulls and merges write only where the caller could, or into the capture directory.
sudo_as "$A" cap-pull -e '' -a "$A"
check_eq "sudo cap-pull into the capture directory: exit 0" 0 "$RC"
check_match "its file is in the capture directory" "^$caps/${A}_" "$(field file "$OUT")"
pulled=$(field file "$OUT")
sudo_as "$A" cap-pull -e '' -w /etc/evil.pcap
refused "cap-pull -w into /etc" "^cap-pull: --write: refused: the caller \($A\) could not write there" "could not write"
check_eq "nothing was written to /etc" "" "$(ls /etc/evil.pcap 2>/dev/null || true)"
check_eq "the refusal is one audit line, not two" 1 "$(syslog_count 'cap-pull\[[0-9]+\]: .*outcome=refused .*value=/etc/evil.pcap' 2)"
# Pulls from alerts: -w is checked as a pull's, and the alerts must come
# from a file the caller could read (its lines are quoted in warnings).
printf 'expr=host 10.0.0.1\tsince=2001-01-01\tuntil=2001-01-02\n' >"$WORK/home-a/alerts.txt"
chown "$A:" "$WORK/home-a/alerts.txt"
sudo_as "$A" cap-pull --from-alert "$WORK/home-a/alerts.txt" --merge -w /etc/evil-alerts.pcap
refused "cap-pull --from-alert --merge -w into /etc" "^cap-pull: --write: refused: the caller \($A\) could not write there" "could not write"
check_eq "nothing was written to /etc" "" "$(ls /etc/evil-alerts.pcap 2>/dev/null || true)"
printf 'since=root-only-secret\n' >"$WORK/root-only.txt"
chmod 600 "$WORK/root-only.txt"
sudo_as "$A" cap-pull --from-alert "$WORK/root-only.txt"
refused "cap-pull --from-alert of a file the caller cannot read" "^cap-pull: --from-alert: refused: the caller \($A\) could not read it" "could not read"
check_eq "none of its text is said" "" "$(grep -F root-only-secret <<<"$ERR" || true)"
sudo_as "$A" cap-pull --from-alert "$WORK/home-a/alerts.txt" -a "$A"
check_eq "sudo cap-pull --from-alert of the caller's own file: exit 0" 0 "$RC"
check_match "its capture is in the capture directory" "^$caps/${A}_" "$(field file "$OUT")"
sudo_as "$A" cap-merge -w /root/evil.pcap "$pulled"
refused "cap-merge -w into /root" "^cap-merge: --write: refused" "could not write"
sudo_as "$A" cap-merge -w "$WORK/home-a/mine.pcap" "$pulled"
check_eq "cap-merge -w where the analyst may write: exit 0" "0" "$RC"
touch "$WORK/home-a/roots.pcap"
sudo_as "$A" cap-merge -w "$WORK/home-a/roots.pcap" "$pulled"
refused "cap-merge -w over a file the analyst may not write" "^cap-merge: --write: refused" "could not write"
sudo_as "$A" cap-merge -w "$caps/merged.pcap" "$pulled"
check_eq "cap-merge -w into the capture directory: exit 0" 0 "$RC"
sudo_as "$A" cap-hash --sidecar /etc/passwd
check_eq "cap-hash --sidecar beside /etc/passwd: exit 1" 1 "$RC"
check_match "the sidecar is refused" "/etc/passwd.sha256: refused: the caller \($A\) could not write there" "$ERR"
check_eq "no sidecar was written in /etc" "" "$(ls /etc/passwd.sha256 2>/dev/null || true)"
sudo_as "$A" cap-hash --sidecar "$pulled"
check_eq "cap-hash --sidecar in the capture directory: exit 0" 0 "$RC"

finish
