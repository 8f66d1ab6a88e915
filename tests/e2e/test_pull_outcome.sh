#!/usr/bin/env bash
# How a pull ended, said the same way by its record, its exit status and
# its audit line: a pull whose sources all failed publishes no capture
# (no file, no link, no temporary) and its record says state=failed with
# the problems counted; a partial one says state=partial everywhere.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/syslog_lib.sh"
need_generator
trap 'stop_syslog; rm -rf "$WORK"' EXIT
start_syslog
cd "$WORK"

# Every source fails: nothing under the final name.
run_tool cap-pull -a g -e icmp -r "$WORK/nonexistent" --dir "$WORK/caps"
check_eq "sources failed: exit 1" 1 "$RC"
check_match "sources failed: said on stderr" "cap-pull: nothing was pulled: its sources failed \(1 problem\)" "$ERR"
check_eq "sources failed: nothing on stdout" "" "$OUT"
check_eq "sources failed: no capture file, link or temporary" "" "$(find caps -name '*.pcap*' ! -name '*.record' -printf '%f\n')"
recs=(caps/*.record)
check_eq "sources failed: one record" 1 "${#recs[@]}"
rec=$(cat "${recs[0]}")
check_eq "sources failed: the record says failed" failed "$(field state "$rec")"
check_eq "sources failed: with the problems counted" 1 "$(field problems "$rec")"
check_eq "sources failed: and no bytes" 0 "$(field bytes "$rec")"
[ ! -e "$(field file "$rec")" ] && ok "sources failed: the record's file is not there" || fail "sources failed: a file stands at $(field file "$rec")"
check_match "sources failed: the audit line says failed, problems=1" \
  "action=pull outcome=failed .*problems=1" "$(syslog_lines 'action=pull outcome=failed')"
check_eq "sources failed: cap-ls --all lists it failed" failed "$(field state "$(cap-ls --dir caps --all --records)")"

# With -w FILE: no FILE either.
run_tool cap-pull -a g -e icmp -r "$WORK/nonexistent" -r "$WORK/nonexistent2" -w "$WORK/out.pcap"
check_eq "-w FILE, sources failed: exit 1" 1 "$RC"
check_match "-w FILE, sources failed: both problems counted" "its sources failed \(2 problems\)" "$ERR"
[ ! -e out.pcap ] && [ ! -L out.pcap ] && ok "-w FILE, sources failed: no FILE" || fail "-w FILE, sources failed: out.pcap exists"
check_eq "-w FILE, sources failed: no temporary" "" "$(find . -maxdepth 1 -name '.*out.pcap*' -printf '%f\n')"

# A file of the archive that cannot be read, the others pulled: partial.
"$GEN" --out dl --files 4 --size 256K --seed 5 --quiet >/dev/null
files=(dl/*)
printf 'garbage, not a capture\n' >"${files[1]}"
run_tool cap-pull -a g -e ip -r dl --dir "$WORK/caps2"
check_eq "partial: exit 1" 1 "$RC"
check_eq "partial: the record printed says partial" partial "$(field state "$OUT")"
check_eq "partial: with the problems counted" 1 "$(field problems "$OUT")"
file=$(field file "$OUT")
[ -f "$file" ] && [ ! -L "$file" ] && ok "partial: published under its name" || fail "partial: no file at $file"
check_eq "partial: the record beside it says partial" partial "$(field state "$(cat "$file.record")")"
check_eq "partial: the record beside it counts the problems" 1 "$(field problems "$(cat "$file.record")")"
check_match "partial: the audit line says partial, problems=1" \
  "action=pull outcome=partial .*problems=1" "$(syslog_lines 'action=pull outcome=partial')"

# Every file of the window broken: nothing read, nothing published.
mkdir junk
printf 'junk\n' >junk/daemonlogger.pcap.1700000000
printf 'junk\n' >junk/daemonlogger.pcap.1700000060
run_tool cap-pull -a g -e ip -r junk --dir "$WORK/caps3"
check_eq "every file broken: exit 1" 1 "$RC"
check_eq "every file broken: no capture" "" "$(find caps3 -name '*.pcap*' ! -name '*.record' -printf '%f\n')"
check_eq "every file broken: the record says failed" failed "$(field state "$(cat caps3/*.record)")"
check_match "every file broken: the problems counted" '^[12]$' "$(field problems "$(cat caps3/*.record)")"

# The dry run's estimate after a pull, however quick: measured by it.
"$GEN" --out tiny --files 1 --size 64K --seed 6 --quiet >/dev/null
run_tool cap-pull -a g -e ip -r tiny --dir "$WORK/caps5"
check_eq "a tiny pull: done" done "$(field state "$OUT")"
check_match "a tiny pull records its scan rate" '^[0-9]+$' "$(field scan_rate "$OUT")"
run_tool cap-pull -a g -e ip -r tiny --dir "$WORK/caps5" -n
check_match "the dry run after it: measured, not assumed" 'estimate: .*\(measured by the last pull\)' "$OUT"

# A clean pull still says done, exit 0.
run_tool cap-pull -a g -e ip -r dl --dir "$WORK/caps4" --since 2001-01-01 --until 2001-01-02
check_eq "an empty window, no problem: exit 0" 0 "$RC"
check_eq "an empty window, no problem: done" done "$(field state "$OUT")"
finish
