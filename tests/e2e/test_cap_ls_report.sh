#!/usr/bin/env bash
# cap-ls --history and --report [--by] over records made by hand in a
# capture directory (ended captures and pulls of two analysts on two days):
# the sums, the keys left out, the table's header, --since/--until, usage.
source "$(dirname "$0")/lib.sh"
export TZ=UTC
cd "$WORK"
mkdir caps
# rec ID KIND ANALYST STARTED ENDED BYTES PACKETS
rec() {
  local f="$WORK/caps/$3_$1_.pcap"
  : >"$f"
  printf 'id=%s\tkind=%s\tstate=done\tanalyst=%s\tfile=%s\tstarted=%s\tended=%s\tbytes=%s\tpackets=%s\n' \
    "$1" "$2" "$3" "$f" "$4" "$5" "$6" "$7" >"$f.record"
}
rec aaaaaa live grant 2026-11-24T10:00:00Z 2026-11-24T11:00:00Z 1000 10
rec bbbbbb pull grant 2026-11-24T12:00:00Z 2026-11-24T12:00:30Z 500 5
rec cccccc pull alice 2026-11-24T13:00:00Z 2026-11-24T13:01:00Z 200 2
rec dddddd live grant 2026-11-25T09:00:00Z 2026-11-25T09:10:00Z 7000 70

run_tool cap-ls --dir caps
check_eq "cap-ls alone: nothing running, nothing shown" "0/" "$RC/$OUT"
run_tool cap-ls --dir caps --history
check_eq "--history: every ended capture and pull" 4 "$(grep -c 'state=done' <<<"$OUT")"
run_tool cap-ls --dir caps --history --since 2026-11-25
check_eq "--history --since: the later day only" dddddd "$(field id "$OUT")"

run_tool cap-ls --dir caps --report
check_eq "--report: exit 0" 0 "$RC"
check_eq "--report: one line per analyst and day" 3 "$(grep -c . <<<"$OUT")"
g=$(grep 'analyst=grant' <<<"$OUT" | grep 'day=2026-11-24')
check_eq "--report: grant's first day" "analyst=grant	day=2026-11-24	captures=2	bytes=1500	seconds=3630	pulls=1	packets=15" "$g"
run_tool cap-ls --dir caps --report --by analyst
check_eq "--by analyst: one line each, no day" \
  "analyst=alice	captures=1	bytes=200	seconds=60	pulls=1	packets=2
analyst=grant	captures=3	bytes=8500	seconds=4230	pulls=1	packets=85" "$OUT"
run_tool cap-ls --dir caps --report --by day --until 2026-11-24T23:59:59Z
check_eq "--by day --until: the first day, no analyst" "day=2026-11-24	captures=3	bytes=1700	seconds=3690	pulls=2	packets=17" "$OUT"
run_tool cap-ls --dir caps --report --by day --json
check_match "--json: the same as JSON" '^\{"day":"2026-11-24","captures":"3"' "$OUT"
run_tool cap-ls --dir caps --report --human
check_match "for a person: a header" "^Day +Analyst +Captures +Size +Time +Pulls +Packets" "$OUT"
run_tool cap-ls --dir caps --report --by week
check_eq "--by week: exit 2" 2 "$RC"
check_match "--by week: said" "--by: 'week' is not analyst, day or analyst,day" "$ERR"
run_tool cap-ls --dir caps --by day
check_eq "--by without --report: exit 2" 2 "$RC"
finish
