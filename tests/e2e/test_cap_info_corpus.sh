#!/usr/bin/env bash
# cap-info agrees with capinfos on every corpus file capinfos reads cleanly:
# packets, data size, earliest and latest time. Files capinfos refuses are
# still described by cap-info (tcpdump reads them all).
source "$(dirname "$0")/lib.sh"
need_corpus
need_cmd capinfos
need_cmd python3
corpus="$CAPTURE_CORPUS/tcpdump"

# capinfos stops describing nothing but the files it cannot read; keep its rows.
(cd "$corpus" && capinfos -T -r -M -S -c -d -a -e -- *.pcap *.pcapng) >"$WORK/capinfos.tsv" 2>"$WORK/capinfos.err" || true
rows=$(wc -l <"$WORK/capinfos.tsv")
[ "$rows" -gt 700 ] && ok "capinfos described $rows corpus files" || fail "capinfos described only $rows files"

run_tool cap-info --records "$corpus"/*.pcap "$corpus"/*.pcapng
check_eq "cap-info exits 0 on the whole corpus" 0 "$RC"
printf '%s\n' "$OUT" >"$WORK/ours.tsv"
total=$(ls "$corpus"/*.pcap "$corpus"/*.pcapng | wc -l)
check_eq "one record per corpus file" "$total" "$(wc -l <"$WORK/ours.tsv")"

if python3 "$CAPTURE_SOURCE/tests/e2e/compare_capinfos.py" "$WORK/capinfos.tsv" "$WORK/ours.tsv" "$corpus" >"$WORK/compare.txt"; then
  ok "$(tail -n1 "$WORK/compare.txt")"
else
  head -n 40 "$WORK/compare.txt" >&2
  fail "cap-info disagrees with capinfos: $(tail -n1 "$WORK/compare.txt")"
fi

# The same with the packet counts tcpdump gives for the files capinfos refuses.
for f in brcm-tag.pcap brcm-tag-prepend.pcap; do
  [ -f "$corpus/$f" ] || continue
  # -# numbers each packet; the last number is the count.
  want=$(tcpdump -# -nqr "$corpus/$f" 2>/dev/null | grep -Eo '^ *[0-9]+ ' | tail -n1 | tr -d ' ')
  got=$(field packets "$(cap-info --records "$corpus/$f")")
  check_eq "$f (capinfos refuses it): packets as tcpdump counts" "$want" "$got"
done
finish
