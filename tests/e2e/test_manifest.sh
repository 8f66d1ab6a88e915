#!/usr/bin/env bash
# The provenance manifest (cap-manifest(5)): on by default for a pull into
# the capture directory, asked for with -w and for cap-merge, refused for
# standard output; cap-hash --check verifies the output and the sources
# still present, and finds a changed output or source.
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
finish
