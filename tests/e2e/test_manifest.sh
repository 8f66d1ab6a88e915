#!/usr/bin/env bash
# The provenance manifest (cap-manifest(5)): on by default for a pull into
# the capture directory, asked for with -w and for cap-merge, refused for
# standard output; cap-hash --check verifies the output and the sources
# still present, and finds a changed output or source. The output's
# digest, made while it is written (or, where the writer rewrote part of it,
# by reading it back), is the sha256sum of the file: for pcap and pcapng, a
# pull interrupted by SIGINT, a pull whose header is rewritten at the end,
# a merge in one pass and in a tree of passes.
source "$(dirname "$0")/lib.sh"
gen=$CAPTURE_BIN/bench/make_archive
[ -x "$gen" ] || skip "no $gen (build the bench targets)"
need_cmd python3
cd "$WORK"
"$gen" --out arch --files 3 --size 64K --seed 5 --quiet >/dev/null
sources=(arch/*)
json() { python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

run_tool cap-pull --dir caps -r arch -a grant -d 'case 42' -e 'udp'
check_eq "the pull exits 0" 0 "$RC"
out=$(field file "$OUT")
m=$out.manifest.json
check_eq "a pull into the capture directory writes its manifest" yes "$([ -f "$m" ] && echo yes || echo no)"
check_eq "format version" 1 "$(json "$m" 'm["manifest"]')"
check_eq "tool" cap-pull "$(json "$m" 'm["tool"]')"
check_eq "the request's expression" udp "$(json "$m" 'm["request"]["expression"]')"
check_eq "the analyst" grant "$(json "$m" 'm["request"]["analyst"]')"
check_eq "the description" "case 42" "$(json "$m" 'm["request"]["description"]')"
check_eq "the command line" "cap-pull --dir caps -r arch -a grant -d case 42 -e udp" \
  "$(json "$m" '" ".join([m["command_line"][0].rsplit("/",1)[-1]] + m["command_line"][1:])')"
check_eq "who ran it" "$(id -un)" "$(json "$m" 'm["run_by"]["user"]')"
check_eq "the host" "$(hostname)" "$(json "$m" 'm["run_by"]["host"]')"
check_eq "every source read, by absolute path" "$(printf "$WORK/%s\n" "${sources[@]}")" \
  "$(json "$m" '"\n".join(s["path"] for s in m["sources"])')"
check_eq "with its size" "$(stat -c %s "${sources[0]}")" "$(json "$m" 'm["sources"][0]["size"]')"
check_eq "no source digest without --hash-sources" False "$(json "$m" '"sha256" in m["sources"][0]')"
check_eq "the output's digest" "$(sha256sum "$out" | cut -d' ' -f1)" "$(json "$m" 'm["output"]["sha256"]')"

run_tool cap-hash --check "$m"
check_eq "cap-hash --check verifies it" 0 "$RC"
check_eq "one OK line per file, the output first" \
  "$(printf '%s: OK\n' "$out" "${sources[@]/#/$WORK/}")" "$OUT"

# A source touched: without a digest the mtime decides.
touch -d '2020-01-01' "${sources[1]}"
run_tool cap-hash --check "$m"
check_eq "a touched source fails" 1 "$RC"
check_match "and says why" "^$WORK/${sources[1]}: FAILED \(modified 2020-01-01" "$OUT"
# A source gone: said, no failure.
mv "${sources[2]}" gone.pcap
touch -d "@$(json "$m" 'm["sources"][1]["mtime_ns"]//10**9')" "${sources[1]}"  # seconds only: still differs
run_tool cap-hash --check "$m"
check_match "a source gone is said" "^$WORK/${sources[2]}: gone \(not checked: No such file or directory\)" "$OUT"
mv gone.pcap "${sources[2]}"

# --hash-sources: the digest decides, a touch is no change, an edit is.
run_tool cap-pull -w pulled.pcap -r arch -e 'udp' --hash-sources
check_eq "-w with --hash-sources exits 0" 0 "$RC"
check_eq "each source's digest" "$(sha256sum "${sources[0]}" | cut -d' ' -f1)" \
  "$(json pulled.pcap.manifest.json 'm["sources"][0]["sha256"]')"
touch "${sources[0]}"
run_tool cap-hash --check pulled.pcap.manifest.json
check_eq "a touch does not fail a source with a digest" 0 "$RC"
printf 'x' | dd of="${sources[0]}" bs=1 seek=100 conv=notrunc status=none
run_tool cap-hash --check pulled.pcap.manifest.json
check_eq "an edited source fails" 1 "$RC"
check_match "by its digest" "^$WORK/${sources[0]}: FAILED \(sha256 differs\)" "$OUT"

# The output changed, or moved with its manifest.
cp pulled.pcap saved.pcap
printf 'x' >>pulled.pcap
run_tool cap-hash --check pulled.pcap.manifest.json
check_match "an altered output fails" "^pulled.pcap: FAILED \(size" "$OUT"
mkdir moved && mv saved.pcap moved/pulled.pcap && cp pulled.pcap.manifest.json moved/
run_tool cap-hash --check moved/pulled.pcap.manifest.json
check_match "moved with its manifest, the output is found beside it" "^moved/pulled.pcap: OK" "$OUT"

# -w without --manifest: none; --no-manifest: none; stdout: refused.
run_tool cap-pull -w plain.pcap -r arch -e 'udp'
check_eq "-w writes no manifest unless asked" no "$([ -e plain.pcap.manifest.json ] && echo yes || echo no)"
run_tool cap-pull --dir caps2 -r arch -e 'udp' --no-manifest
check_eq "--no-manifest" "0/0" "$RC/$(ls caps2 | grep -c manifest || true)"
run_tool bash -c "cap-pull -w - -r arch -e udp --manifest >/dev/null"
check_eq "a manifest for standard output is a usage error" 2 "$RC"
run_tool cap-pull --dir caps -r arch -e udp --manifest --no-manifest
check_eq "--manifest with --no-manifest is a usage error" 2 "$RC"

# cap-merge --manifest.
run_tool cap-merge --manifest -w merged.pcap "${sources[@]}"
check_eq "cap-merge --manifest exits 0" 0 "$RC"
check_eq "its tool" cap-merge "$(json merged.pcap.manifest.json 'm["tool"]')"
check_eq "its sources" 3 "$(json merged.pcap.manifest.json 'len(m["sources"])')"
run_tool cap-hash --check merged.pcap.manifest.json
check_eq "and it verifies" 0 "$RC"
run_tool cap-merge -w merged2.pcap "${sources[@]}"
check_eq "cap-merge writes none unless asked" no "$([ -e merged2.pcap.manifest.json ] && echo yes || echo no)"

printf '{"not": "a manifest"}\n' >bogus.manifest.json
run_tool cap-hash --check bogus.manifest.json
check_eq "a JSON file that is no manifest fails" 1 "$RC"
check_match "and says so" "bogus.manifest.json: not a capture manifest" "$ERR"
# The output's digest is the file's, whatever way it was written.
sha() { sha256sum "$1" | cut -d' ' -f1; }
digest_is_files() {  # WHAT OUTPUT: the manifest's digest is sha256sum's, and cap-hash --check says OK
  check_eq "$1: the manifest's digest is sha256sum's" "$(sha "$2")" "$(json "$2.manifest.json" 'm["output"]["sha256"]')"
  run_tool cap-hash --check "$2.manifest.json"
  check_eq "$1: cap-hash --check passes" 0 "$RC"
}
run_tool cap-pull -w ng.pcapng -F pcapng -r arch -e 'udp' --manifest
check_eq "a pcapng pull exits 0" 0 "$RC"
digest_is_files "pcapng pull" ng.pcapng
# One byte changed in place (same size, same mtime): the digest tells.
cp ng.pcapng ng.saved
printf '\xff' | dd of=ng.pcapng bs=1 seek=200 conv=notrunc status=none
touch -r ng.saved ng.pcapng
run_tool cap-hash --check ng.pcapng.manifest.json
check_eq "a byte of the output altered: the check fails" 1 "$RC"
check_match "by its digest" "^ng.pcapng: FAILED \(sha256 differs\)" "$OUT"
mv ng.saved ng.pcapng

# A pull interrupted by SIGINT (frozen as soon as its record appears, so
# that the signal comes while it runs, as test_cap_pull.sh does).
"$gen" --out big --files 6 --size 16M --seed 16 --quiet >/dev/null
cat big/* >/dev/null
cap-pull -a grant -d interrupted -e 'tcp' -r big --dir "$WORK/caps-int" -j 1 >int.out 2>int.err &
pid=$!
for _ in $(seq 4000); do
  [ -n "$(find caps-int -maxdepth 1 -name '*interrupted*.past.pcap.record' -print -quit 2>/dev/null)" ] && break
  sleep 0.005
done
kill -STOP "$pid" 2>/dev/null || true
kill -INT "$pid" 2>/dev/null || true
kill -CONT "$pid" 2>/dev/null || true
set +e; wait "$pid"; set -e
int_out=$(field file "$(cat int.out)")
if [ "$(field state "$(cat int.out)")" = interrupted ]; then
  ok "the pull was interrupted"
  check_eq "its manifest says so" interrupted "$(json "$int_out.manifest.json" 'm["request"]["state"]')"
else
  echo "note: the pull ended before the signal: $(field state "$(cat int.out)")"
fi
digest_is_files "interrupted pull" "$int_out"

# A source whose packets are longer than its header's snapshot length:
# the output's header, gone to the file long before, is raised at the end;
# the manifest then reads the file back, and its digest is still the file's.
mkdir snap
python3 - snap/daemonlogger.pcap.1700000000 <<'PY'
import struct, sys
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 96, 1))
    frame = b"\xff" * 12 + b"\x08\x00" + bytes([0x45, 0, 0, 136]) + bytes(136 - 4)
    for i in range(4000):
        f.write(struct.pack("<IIII", 1700000000 + i // 100, i % 100, len(frame), len(frame)) + frame)
PY
run_tool cap-pull -w raised.pcap -r snap -e '' --manifest
check_eq "the pull of long packets exits 0" 0 "$RC"
check_eq "its header's snapshot length was raised" 150 "$(python3 -c 'import struct,sys; print(struct.unpack_from("<I", open(sys.argv[1],"rb").read(), 16)[0])' raised.pcap)"
digest_is_files "pull with its header rewritten" raised.pcap

# cap-merge: one pass, pcapng, and a tree of passes (--max-open 2: part
# files merged again).
run_tool cap-merge --manifest -w one.pcap "${sources[@]}"
digest_is_files "merge" one.pcap
run_tool cap-merge --manifest -F pcapng -w one.pcapng "${sources[@]}"
digest_is_files "pcapng merge" one.pcapng
run_tool cap-merge --manifest --max-open 2 -w tree.pcap "${sources[@]}" big/*
check_eq "a tree merge exits 0" 0 "$RC"
check_eq "it writes what a merge in one pass writes" "$(cap-merge -w - "${sources[@]}" big/* | sha256sum | cut -d' ' -f1)" "$(sha tree.pcap)"
digest_is_files "tree merge" tree.pcap
finish
