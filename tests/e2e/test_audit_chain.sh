#!/usr/bin/env bash
# The hash-chained local audit log (capture.conf audit-log): 8 shells
# writing at once lose no line and keep one chain, also while logrotate
# rotates it (nocreate: the log is renamed, the next writer makes the new
# one; in create mode logrotate moves aside a log a writer made first);
# cap-ls --verify-audit passes across the rotated files, and finds a line deleted, altered or moved in any of them, or cut
# from the end, saying FILE:LINE.
source "$(dirname "$0")/lib.sh"
need_cmd logrotate
cd "$WORK"
log=$WORK/log/audit.log
mkdir log
printf 'audit-log = %s\nsyslog = off\n' "$log" >capture.conf
export CAPTURE_CONF=$WORK/capture.conf
printf 'evidence\n' >small.txt

# One line per cap-hash; the shells write while logrotate rotates.
cat >rotate.conf <<EOF
$log {
    rotate 20
    nocreate
    nocompress
    nodateext
    missingok
}
EOF
shells=8 each=25
for ((s = 0; s < shells; s++)); do
  (for ((i = 0; i < each; i++)); do cap-hash small.txt >/dev/null 2>>"writer.$s.err" || echo "rc=$?" >>"writer.$s.err"; done) &
done
rotations=0
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do
  # Rotate only when the log holds something, so that every rotation
  # leaves a file (logrotate skips an empty one with notifempty only).
  if [ -s "$log" ] && [ "$rotations" -lt 4 ]; then
    logrotate -f -s "$WORK/logrotate.state" rotate.conf
    rotations=$((rotations + 1))
  fi
  wait -n || true
done
wait
check_eq "no writer said anything" "" "$(cat writer.*.err)"
check_eq "logrotate rotated the log while they wrote" yes "$([ -e "$log.1" ] && echo yes || echo no)"
# The last rotation may come after the last line: then there is no live log.
total=$(cat "$log".[0-9]* $([ ! -e "$log" ] || echo "$log") | wc -l)
check_eq "no line lost: one per run" $((shells * each)) "$total"
run_tool cap-ls --verify-audit
check_eq "the chain holds across the rotated files" "0/" "$RC/$ERR"
check_eq "one record per file" "$(ls "$log"* | grep -vc '\.head$')" "$(grep -c 'chain=ok' <<<"$OUT")"
newest_seq=$(printf '%s\n' "$OUT" | tail -1 | tr '\t' '\n' | sed -n 's/^last_seq=//p')
check_eq "seq counts every line ever written" $((shells * each)) "$newest_seq"

# Rotations with known contents: 5 lines, rotated, 2 lines. Each new
# file's first line links to the last of the one before.
logrotate -f -s "$WORK/logrotate.state" rotate.conf
check_eq "no log after rotation until the next line makes it (nocreate)" no "$([ -e "$log" ] && echo yes || echo no)"
run_tool cap-ls --verify-audit
check_eq "just after that rotation, with no live log, the chain holds" "0/" "$RC/$ERR"
for i in 1 2 3 4 5; do cap-hash small.txt >/dev/null; done
logrotate -f -s "$WORK/logrotate.state" rotate.conf
cap-hash small.txt >/dev/null
cap-hash small.txt >/dev/null
check_eq "the rotated file holds its 5 lines" 5 "$(wc -l <"$log.1")"
run_tool cap-ls --verify-audit --human
check_eq "still intact after rotations and more lines" 0 "$RC"
check_match "said for a person" "chain intact from its first line, up to the head" "$OUT"

# Tampering, in a rotated file and in the live one; each undone after.
tamper() {  # FILE SED-SCRIPT WHAT PATTERN
  cp "$1" saved
  sed -i "$2" "$1"
  run_tool cap-ls --verify-audit
  check_eq "$3: exit 1" 1 "$RC"
  check_match "$3: said where" "$4" "$ERR"
  check_match "$3: its record says broken" "chain=broken" "$OUT"
  cp saved "$1"
}
tamper "$log.1" '3d' "a line deleted from a rotated file" \
  "^cap-ls: $log.1:3: 1 line\(s\) missing before this one"
tamper "$log.1" '2s/outcome=ok/outcome=failed/' "a line altered in a rotated file" \
  "^cap-ls: $log.1:3: does not link to the line before: $log.1:2 .* was altered"
tamper "$log.1" '2{h;d};3G' "two lines swapped in a rotated file" \
  "^cap-ls: $log.1:3: out of order"
tamper "$log.1" '$d' "the last line of a rotated file deleted" \
  "^cap-ls: $log:1: 1 line\(s\) missing before this one"
tamper "$log" '$d' "the newest line cut off" \
  "^cap-ls: $log:1: 1 line\(s\) missing at the end \(the head says seq"
tamper "$log" '1s/user=[a-z]*/user=nobody/' "a line altered in the live log" \
  "^cap-ls: $log:2: does not link to the line before"
run_tool cap-ls --verify-audit
check_eq "undone, the chain holds again" 0 "$RC"

# A whole rotated file deleted from the middle is a gap.
mv "$log.1" aside
run_tool cap-ls --verify-audit "$log.2" "$log"
check_eq "a missing file: exit 1" 1 "$RC"
check_match "a missing file: the gap" "^cap-ls: $log:1: [0-9]+ line\(s\) missing before this one" "$ERR"
mv aside "$log.1"
run_tool cap-ls --verify-audit "$log.1" "$log"
check_eq "the newest files alone verify: their start was rotated away" "0/" "$RC/$ERR"

# Usage.
run_tool cap-ls somefile
check_eq "a FILE without --verify-audit is a usage error" 2 "$RC"
run_tool env CAPTURE_CONF=/dev/null cap-ls --verify-audit
check_eq "no audit-log and no FILE is a usage error" 2 "$RC"
printf 'audit-log = relative.log\n' >bad.conf
run_tool cap-hash --config bad.conf small.txt
check_eq "a relative audit-log is a configuration error" 2 "$RC"
check_match "named by file and line" "^cap-hash: bad.conf:1: audit-log: 'relative.log' is not an absolute path" "$ERR"

# An unwritable log is said, not lost.
printf 'audit-log = %s/nodir/audit.log\nsyslog = off\n' "$WORK" >nodir.conf
run_tool cap-hash --config nodir.conf small.txt
check_eq "the hash is still done" 0 "$RC"
check_match "the failure to log is said with the line" \
  "^cap-hash: audit-log: .*nodir/audit.log.head: No such file or directory \(not logged: action=hash" "$ERR"
# Over many files it is said once at once and counted at the end, as syslog's loss is.
for i in 1 2 3 4 5 6; do cp small.txt "many$i.txt"; done
run_tool cap-hash --config nodir.conf many1.txt many2.txt many3.txt many4.txt many5.txt many6.txt
check_eq "six files hashed with the log unwritable" 0 "$RC"
check_eq "the first lost line is said once" 1 "$(grep -c '(not logged: action=hash' <<<"$ERR" || true)"
check_match "the count is said at the end" \
  "cap-hash: audit-log: .*No such file or directory \(6 audit lines not logged\)\$" "${ERR##*$'\n'}"
finish
