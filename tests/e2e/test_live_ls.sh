#!/usr/bin/env bash
# cap-ls beyond the running list: stale captures, --all with --since and
# --until, --report, JSON; cap-stop -v with cap-info's figures.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"

port=$(free_port 3)
printf 'stale-age = 1s\n' >"$WORK/stale.conf"

a=$(field id "$(cap-start -a grant -d 'first one' -e "udp and dst port $port" -i lo)")
b=$(field id "$(cap-start -a maria -d 'second one' -e "udp and dst port $port" -i lo)")
send_udp "$port" 4
wait_until 10 rec_field_is "$a" packets 4 || fail "grant's capture never counted 4"
wait_until 10 rec_field_is "$b" packets 4 || fail "maria's capture never counted 4"

# Stale, in both forms, once older than the configured age.
stale() { grep -q 'stale=yes' <<<"$(CAPTURE_CONF="$WORK/stale.conf" cap-ls -f grant)"; }
if wait_until 10 stale; then ok "a capture older than stale-age is marked stale in records"; else fail "never stale"; fi
check_match "and for people" "^grant .* first one \[stale\]$" "$(CAPTURE_CONF="$WORK/stale.conf" cap-ls --human -f grant)"
check_eq "not stale under the default age" "" "$(cap-ls -f grant | grep stale= || true)"

# -f is repeatable; JSON carries the same record.
check_eq "-f twice keeps both analysts" 2 "$(cap-ls -f grant -f maria | wc -l)"
check_match "--json" "^\{\"id\":\"$a\",\"kind\":\"live\",\"state\":\"running\",\"analyst\":\"grant\"" "$(cap-ls --json -f grant)"

# cap-stop -v: the verbose block and cap-info's figures.
run_tool cap-stop -v --records "$a"
check_eq "cap-stop -v exits 0" 0 "$RC"
check_eq "cap-stop -v in a pipe adds cap-info's figures" "stopped/pcap/4" "$(field state "$OUT")/$(field format "$OUT")/$(field packets "$OUT")"
run_tool cap-stop -v --human "$b"
check_match "cap-stop -v for people: the verbose block" "Analyst: maria" "$OUT"
check_match "and the capture file info" "Capture file info:" "$OUT"
check_match "with its packets" "  Packets: +4" "$OUT"

# --all, bounded by --since and --until.
check_eq "--all lists both finished" 2 "$(cap-ls --all | grep -c state=stopped)"
check_eq "--since yesterday keeps them" 2 "$(cap-ls --all --since yesterday | wc -l)"
check_eq "--until before they started drops them" 0 "$(cap-ls --all --until -1d | wc -l)"
check_eq "--since after they ended drops them" 0 "$(cap-ls --all --since @$(( $(date +%s) + 3600 )) | wc -l)"
run_tool cap-ls --since yesterday
check_eq "--since without --all is a usage error" 2 "$RC"
run_tool cap-ls --all --since 'last tuesday'
check_match "a bad time is named" "^cap-ls: --since: 'last tuesday' is not a time" "$ERR"

# --report: captures, bytes and time per analyst per day.
report=$(cap-ls --report --since yesterday)
check_eq "--report: one line per analyst and day" 2 "$(printf '%s\n' "$report" | wc -l)"
g=$(printf '%s\n' "$report" | grep 'analyst=grant')
check_eq "--report: the day" "$(date +%Y-%m-%d)" "$(field day "$g")"
check_eq "--report: captures" 1 "$(field captures "$g")"
check_match "--report: bytes" '^[0-9]+$' "$(field bytes "$g")"
check_match "--report: seconds" '^[0-9]+$' "$(field seconds "$g")"
check_match "--report for people has a header" "^Day +Analyst +Captures +Size +Time" "$(cap-ls --report --human)"

finish
