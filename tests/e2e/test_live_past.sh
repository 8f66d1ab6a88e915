#!/usr/bin/env bash
# cap-start -R: a live capture and the same expression pulled from the
# archive up to the moment the capture started, in one command, as the
# original `capture -R` did. The archive is synthetic; the live capture
# runs on lo and sees none of its hosts.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"
archive="$WORK/archive"
"$CAPTURE_BIN/bench/make_archive" --out "$archive" --files 4 --size 256K --seed 11 >/dev/null
chmod -R a+rX "$archive"
expr='host 10.0.0.7'

run_tool cap-start -R -r "$archive" -a grant -d 'beacon host' -e "$expr" -i lo --records
check_eq "cap-start -R exits 0" 0 "$RC"
check_eq "two records: the live capture, then the pull" 2 "$(printf '%s\n' "$OUT" | wc -l)"
live=$(printf '%s\n' "$OUT" | sed -n 1p)
pull=$(printf '%s\n' "$OUT" | sed -n 2p)
check_eq "the first is the running live capture" "live running" "$(field kind "$live") $(field state "$live")"
check_eq "the second is a finished pull" "pull done" "$(field kind "$pull") $(field state "$pull")"
check_eq "same analyst" grant "$(field analyst "$pull")"
check_eq "same expression" "$expr" "$(field expr "$pull")"
check_eq "the pull ends where the capture starts" "$(field started "$live")" "$(field until "$pull")"
pull_file=$(field file "$pull")
check_match "the pull is named as a past capture" '_\.past\.pcap$' "$pull_file"
want=$(tcpdump -V <(ls "$archive"/* | sort) -w - "$expr" 2>/dev/null | tcpdump -nr - 2>/dev/null | wc -l)
check_eq "the pull holds what tcpdump keeps from the archive" "$want" "$(pcap_count "$pull_file")"
[ "$want" -gt 0 ] && ok "the archive has traffic for the expression ($want packets)" || fail "no traffic in the archive"

# The live capture goes on until it is stopped.
run_tool sh -c "cap-ls -f grant --records | cap-stop --records"
check_eq "the live capture stops" 0 "$RC"
check_eq "stopped" stopped "$(field state "$(printf '%s\n' "$OUT" | grep 'kind=live')")"
finish
