#!/usr/bin/env bash
# cap-info as a filter: records in, records out; a person's block on a
# terminal; failures named and counted while the other files go on.
source "$(dirname "$0")/lib.sh"
need_cmd tcpdump
archive="$WORK/archive"
"$CAPTURE_BIN/bench/make_archive" --out "$archive" --files 3 --size 256K --seed 3 >/dev/null
files=("$archive"/*)
check_eq "the generator made 3 files" 3 "${#files[@]}"

# Records in a pipe, one per file, in input order, with the figures.
run_tool cap-info "${files[@]}"
check_eq "exit 0" 0 "$RC"
check_eq "no stderr" "" "$ERR"
check_eq "one record per file" 3 "$(printf '%s\n' "$OUT" | wc -l)"
first=${OUT%%$'\n'*}
check_eq "records keep input order" "${files[0]}" "$(field file "$first")"
want=$(tcpdump -# -nqr "${files[0]}" 2>/dev/null | grep -Eo '^ *[0-9]+ ' | tail -n1 | tr -d ' ')
check_eq "packets as tcpdump counts" "$want" "$(field packets "$first")"
check_eq "file_bytes is the size" "$(stat -c %s "${files[0]}")" "$(field file_bytes "$first")"
check_eq "format" pcap "$(field format "$first")"
check_eq "linktype" EN10MB "$(field linktype "$first")"
check_match "first is UTC ISO 8601 with microseconds" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}Z$' "$(field first "$first")"

# Records pass through with unknown keys kept in order, figures added after.
line=$(printf 'id=x1\tfile=%s\tcolour=blue\tpackets=999\n' "${files[1]}" | cap-info)
check_match "unknown keys pass through in order" "^id=x1	file=${files[1]}	colour=blue	packets=[0-9]+	format=pcap" "$line"

# Bare paths, blank lines and comments on stdin.
out=$(printf '# from find\n\n%s\n' "${files[2]}" | cap-info)
check_eq "a bare path on stdin is described" "${files[2]}" "$(field file "$out")"

# JSON Lines.
json=$(cap-info --json "${files[0]}")
check_match "--json gives an object with string values" '^\{"file":".*","format":"pcap","linktype":"EN10MB","packets":"[0-9]+"' "$json"

# A person's block on a terminal (script gives us a real pty).
if command -v script >/dev/null; then
  screen=$(script -qec "cap-info ${files[0]}" /dev/null | tr -d '\r')
  check_match "a terminal gets the block" 'Capture file info:' "$screen"
  check_match "the block names the file" "File name: +${files[0]}" "$screen"
  check_match "the block gives the link type" 'Link type: +EN10MB \(Ethernet\)' "$screen"
fi

# Failures: named on stderr, exit 1, and the other files still described.
printf 'not a capture at all\n' >"$WORK/junk.pcap"
head -c 1000 "${files[0]}" >"$WORK/cut.pcap"
run_tool cap-info "${files[0]}" "$WORK/missing.pcap" "$WORK/junk.pcap" "$WORK/cut.pcap" "${files[1]}"
check_eq "exit 1 when a file fails" 1 "$RC"
check_match "a missing file is named" "cap-info: $WORK/missing.pcap: No such file or directory" "$ERR"
check_match "junk is named" "cap-info: $WORK/junk.pcap: .*not a pcap or pcapng file" "$ERR"
check_match "a cut file is named with where" "cap-info: $WORK/cut.pcap: .*truncated" "$ERR"
check_eq "the good files and the cut one are described" 3 "$(printf '%s\n' "$OUT" | wc -l)"
check_match "the cut file's record says error" 'error=' "$(printf '%s\n' "$OUT" | grep cut.pcap)"
check_eq "the last good file is still described" "${files[1]}" "$(field file "$(printf '%s\n' "$OUT" | tail -n1)")"

# Usage errors: exit 2.
run_tool cap-info --no-such-option
check_eq "a bad option exits 2" 2 "$RC"
check_match "and says so" "^cap-info: .*no-such-option" "$ERR"

# Write errors are errors (coreutils' /dev/full check).
if [ -w /dev/full ]; then
  run_tool sh -c "cap-info '${files[0]}' > /dev/full"
  check_eq "writing to a full disk exits 1" 1 "$RC"
  check_match "and says write error" 'cap-info: write error' "$ERR"
fi

# Empty input is success with empty output.
run_tool sh -c ': | cap-info'
check_eq "empty input: exit 0" 0 "$RC"
check_eq "empty input: no output" "" "$OUT"
finish
