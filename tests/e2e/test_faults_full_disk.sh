#!/usr/bin/env bash
# A full disk (a small tmpfs this test mounts): a pull, a merge (plain and
# as a tree) and a digest sidecar that fill it stop cleanly, say so, exit
# 1, leave a capture that tcpdump reads to its end (cut at a whole packet,
# its record counting exactly what it holds), no temporary file, and no
# record that claims success. The live capture on a full disk is
# test_live_limits.sh's.
source "$(dirname "$0")/lib.sh"
need_root
need_cmd tcpdump
need_generator
"$GEN" --out "$WORK/arch" --files 4 --size 1M --seed 21 --quiet >/dev/null

small="$WORK/small"
mkdir "$small"
mount -t tmpfs -o size=512k,mode=0755 tmpfs "$small" 2>/dev/null || skip "cannot mount a tmpfs here"
trap 'umount "$small" 2>/dev/null || umount -l "$small" 2>/dev/null; rm -rf "$WORK"' EXIT

hidden() { ls -A "$1" | grep '^\.' || true; }
caps="$small/caps"

# A pull bigger than the disk.
run_tool cap-pull --no-syslog -a full -d 'disk fills' -e ip -r "$WORK/arch" --dir "$caps"
check_eq "pull: exit 1" 1 "$RC"
check_match "pull: says why" "^cap-pull: .*No space left on device" "$ERR"
check_eq "pull: the record printed says failed" failed "$(field state "$OUT")"
file=$(field file "$OUT")
rec=$(cat "$file.record" 2>/dev/null || true)
check_eq "pull: its record file says failed" failed "$(field state "$rec")"
check_match "pull: with the reason" "No space left on device" "$(field reason "$rec")"
[ -f "$file" ] && [ ! -L "$file" ] && ok "pull: what was written is kept under its name" || fail "pull: no file at $file"
reads_whole "$file" && ok "pull: tcpdump reads it to its end" || fail "pull: tcpdump: $(cat "$WORK/tcpdump.err")"
n=$(tcpdump_count "$file")
check_match "pull: it holds packets" '^[1-9][0-9]*$' "$n"
check_eq "pull: the record counts exactly those" "$n" "$(field packets "$rec")"
check_eq "pull: and their bytes" "$(stat -c %s "$file")" "$(field bytes "$rec")"
run_tool cap-info --no-syslog "$file"
check_eq "pull: cap-info agrees" "0:$n" "$RC:$(field packets "$OUT")"
check_eq "pull: no temporary file left" "" "$(hidden "$caps")"
check_eq "pull: cap-ls shows it failed" "failed" "$(field state "$(cap-ls --dir "$caps" --all --records)")"
rm -f "$file" "$file.record"

# A merge bigger than the disk.
run_tool cap-merge --no-syslog -a full -d 'merge fills' --dir "$caps" "$WORK"/arch/*
check_eq "merge: exit 1" 1 "$RC"
check_match "merge: says why" "^cap-merge: .*No space left on device" "$ERR"
check_eq "merge: the record printed says failed" failed "$(field state "$OUT")"
check_match "merge: with the reason" "No space left on device" "$(field reason "$OUT")"
file=$(field file "$OUT")
[ -f "$file" ] && ok "merge: what was written is kept under its name" || fail "merge: no file at $file"
reads_whole "$file" && ok "merge: tcpdump reads it to its end" || fail "merge: tcpdump: $(cat "$WORK/tcpdump.err")"
n=$(tcpdump_count "$file")
check_match "merge: it holds packets" '^[1-9][0-9]*$' "$n"
check_eq "merge: the record counts exactly those" "$n" "$(field packets "$OUT")"
check_eq "merge: and their bytes" "$(stat -c %s "$file")" "$(field bytes "$OUT")"
check_eq "merge: no temporary file left" "" "$(hidden "$caps")"
rm -f "$file"

# A tree merge: the parts fill the disk before the output has a packet.
run_tool cap-merge --no-syslog --max-open 2 -w "$small/tree.pcap" "$WORK"/arch/*
check_eq "tree merge: exit 1" 1 "$RC"
check_match "tree merge: says why" "^cap-merge: .*No space left on device" "$ERR"
check_eq "tree merge: no record claims success" "" "$(grep -v 'state=failed' <<<"$OUT" || true)"
check_eq "tree merge: no part or temporary file left" "" "$(hidden "$small")"
if [ -e "$small/tree.pcap" ]; then
  reads_whole "$small/tree.pcap" && ok "tree merge: what is kept reads to its end" || fail "tree merge: $(cat "$WORK/tcpdump.err")"
fi
rm -f "$small/tree.pcap"

# A sidecar on a full disk: the digest is said, the sidecar is not half there.
arch_files=("$WORK"/arch/*)
tcpdump -r "${arch_files[0]}" -c 20 -w "$small/x.pcap" 2>/dev/null
dd if=/dev/zero of="$small/fill" bs=4k 2>/dev/null || true
run_tool cap-hash --no-syslog --sidecar "$small/x.pcap"
check_eq "sidecar: exit 1" 1 "$RC"
check_match "sidecar: names it and says why" "^cap-hash: $small/x.pcap.sha256: No space left on device" "$ERR"
check_eq "sidecar: the digest is still right" "$(sha256sum "$small/x.pcap" | cut -d' ' -f1)" "$(field sha256 "$OUT")"
[ ! -e "$small/x.pcap.sha256" ] && ok "sidecar: no sidecar half written" || fail "sidecar: $(cat "$small/x.pcap.sha256")"
check_eq "sidecar: no temporary file left" "" "$(hidden "$small")"
run_tool cap-hash --no-syslog --check "$small/x.pcap.sha256"
check_eq "sidecar: nothing to check, and that is said" 1 "$RC"

finish
