#!/usr/bin/env bash
# cap-hash in real pipelines, checked against the coreutils tools:
# sha256sum (and sha512sum, md5sum, b2sum) must agree with every digest,
# accept our sidecars and manifests, and we must accept theirs.
source "$(dirname "$0")/lib.sh"
need_cmd sha256sum

# Small "captures": cap-hash does not care what is inside.
dir="$WORK/nsm"
mkdir -p "$dir/sub"
for i in 1 2 3 4 5; do head -c $((i * 300000 + 17)) /dev/urandom >"$dir/cap$i.pcap"; done
head -c 70000 /dev/urandom >"$dir/sub/deep.pcap"
: >"$dir/empty.pcap"
head -c 1000 /dev/urandom >"$dir/with space.pcap"
head -c 1000 /dev/urandom >"$dir/back\\slash.pcap"

# find | cap-hash: one record per file, in find's order, sha256sum's digests.
find "$dir" -name '*.pcap' >"$WORK/list"
run_tool sh -c "cap-hash < '$WORK/list'"
check_eq "find | cap-hash exits 0" 0 "$RC"
check_eq "find | cap-hash: no stderr" "" "$ERR"
check_eq "one record per file" "$(wc -l <"$WORK/list")" "$(printf '%s\n' "$OUT" | wc -l)"
expected=""
while IFS= read -r f; do
  # In a record a backslash is written \\ (cap-record(5)).
  expected+=$(printf 'file=%s\tsha256=%s' "${f//\\/\\\\}" "$(sha256sum <"$f" | cut -d' ' -f1)")$'\n'
done <"$WORK/list"
check_eq "records in find's order with sha256sum's digests" "${expected%$'\n'}" "$OUT"

# The person's form is sha256sum's, byte for byte, escapes included.
(cd "$dir" && sha256sum -- *.pcap) >"$WORK/sha256sum.out"
(cd "$dir" && cap-hash --human -- *.pcap) >"$WORK/cap-hash.out"
check_eq "--human is sha256sum's output" "$(cat "$WORK/sha256sum.out")" "$(cat "$WORK/cap-hash.out")"
if command -v script >/dev/null; then
  screen=$(cd "$dir" && script -qec "cap-hash cap1.pcap" /dev/null | tr -d '\r')
  check_eq "a terminal gets sha256sum's line" "$(cd "$dir" && sha256sum cap1.pcap)" "$screen"
fi

# Parallel or not, the same output.
check_eq "-j 1 and -j 4 agree" "$(cap-hash -j 1 "$dir"/*.pcap)" "$(cap-hash -j 4 "$dir"/*.pcap)"

# Records pass through unchanged, the digest added.
line=$(printf 'id=x1\tkind=file\tfile=%s\tcolour=blue\n' "$dir/cap1.pcap" | cap-hash)
check_match "unknown keys pass through, digest last" "^id=x1	kind=file	file=$dir/cap1.pcap	colour=blue	sha256=[0-9a-f]{64}$" "$line"
json=$(cap-hash --json "$dir/cap1.pcap")
check_match "--json" "^\{\"file\":\"$dir/cap1.pcap\",\"sha256\":\"[0-9a-f]{64}\"\}$" "$json"
check_match "--algo sha3-256 gives the key sha3_256" "	sha3_256=[0-9a-f]{64}$" "$(cap-hash --algo sha3-256 "$dir/cap1.pcap")"

# Other digests agree with the coreutils tools (b2sum's default is BLAKE2b-512).
for pair in sha1:sha1sum sha512:sha512sum md5:md5sum blake2b512:b2sum sha224:sha224sum sha384:sha384sum; do
  algo=${pair%%:*} tool=${pair#*:}
  command -v "$tool" >/dev/null || continue
  check_eq "--algo $algo equals $tool" "$(cd "$dir" && $tool -- *.pcap)" "$(cd "$dir" && cap-hash --human --algo "$algo" -- *.pcap)"
done
check_eq "--algo is case-blind (SHA512)" "$(cap-hash --algo sha512 "$dir/cap2.pcap")" "$(cap-hash --algo SHA512 "$dir/cap2.pcap")"

# Sidecars: sha256sum -c accepts them from their directory; ours from anywhere.
run_tool cap-hash --sidecar "$dir/cap1.pcap" "$dir/sub/deep.pcap"
check_eq "--sidecar exits 0" 0 "$RC"
run_tool sh -c "cd '$dir' && sha256sum -c cap1.pcap.sha256"
check_eq "sha256sum -c accepts the sidecar" "cap1.pcap: OK" "$OUT"
check_eq "no temporary file is left" "" "$(find "$dir" -name '.*')"
run_tool cap-hash --check "$dir/cap1.pcap.sha256" "$dir/sub/deep.pcap.sha256"
check_eq "--check reads a sidecar relative to its directory" "$dir/cap1.pcap: OK
$dir/sub/deep.pcap: OK" "$OUT"
cap-hash --sidecar --algo md5 "$dir/cap2.pcap" >/dev/null
check_eq "FILE.md5 for --algo md5, md5sum -c accepts it" "cap2.pcap: OK" "$(cd "$dir" && md5sum -c cap2.pcap.md5)"
check_eq "--check takes the digest from a sidecar's name" "$dir/cap2.pcap: OK" "$(cap-hash -c "$dir/cap2.pcap.md5")"
check_eq "find '*.sha256' | cap-hash -c" "2" "$(find "$dir" -name '*.sha256' | cap-hash -c | grep -c ': OK$')"

# cap-hash | cap-hash --check; then one byte changed.
cp "$dir/cap3.pcap" "$WORK/evidence.pcap"
cap-hash "$WORK/evidence.pcap" "$dir/cap4.pcap" >"$WORK/hashes"
run_tool sh -c "cap-hash --check < '$WORK/hashes'"
check_eq "cap-hash | cap-hash --check: exit 0" 0 "$RC"
check_eq "cap-hash | cap-hash --check: OK lines" "$WORK/evidence.pcap: OK
$dir/cap4.pcap: OK" "$OUT"
printf '\x42' | dd of="$WORK/evidence.pcap" bs=1 seek=4321 conv=notrunc status=none
cmp -s "$WORK/evidence.pcap" "$dir/cap3.pcap" || ok "the byte changed"
run_tool sh -c "cap-hash --check < '$WORK/hashes'"
check_eq "a changed byte: exit 1" 1 "$RC"
check_eq "a changed byte: FAILED" "$WORK/evidence.pcap: FAILED
$dir/cap4.pcap: OK" "$OUT"
check_eq "a changed byte: sha256sum's warning" "cap-hash: WARNING: 1 computed checksum did NOT match" "$ERR"
run_tool sh -c "cap-hash --check --quiet < '$WORK/hashes'"
check_eq "--quiet says only what failed" "$WORK/evidence.pcap: FAILED" "$OUT"
run_tool sh -c "cap-hash --check --records < '$WORK/hashes'"
check_match "--check --records: verified=failed" "^file=$WORK/evidence.pcap	sha256=[0-9a-f]{64}	verified=failed$" "$(printf '%s\n' "$OUT" | sed -n 1p)"
check_match "--check --records: verified=ok" "	verified=ok$" "$(printf '%s\n' "$OUT" | tail -n1)"
check_match "--check --json" '"verified":"failed"' "$(cap-hash --check --json <"$WORK/hashes" 2>/dev/null)"

# Manifests made by sha256sum: text, binary marker, BSD tags; from a file or stdin.
(cd "$dir" && sha256sum cap*.pcap >m && sha256sum -b empty.pcap >>m && sha256sum --tag 'with space.pcap' >>m)
run_tool sh -c "cd '$dir' && cap-hash --check m"
check_eq "a sha256sum manifest: exit 0" 0 "$RC"
check_eq "a sha256sum manifest: one OK per file" 7 "$(printf '%s\n' "$OUT" | grep -c ': OK$')"
run_tool sh -c "cd '$dir' && cap-hash --check < m"
check_eq "the manifest on stdin" 7 "$(printf '%s\n' "$OUT" | grep -c ': OK$')"
check_eq "sha256sum -c accepts a manifest of ours" "" \
  "$(cd "$dir" && cap-hash --human -- *.pcap >ours && sha256sum --quiet -c ours)"
mv "$dir/cap5.pcap" "$WORK/moved.pcap"
run_tool sh -c "cd '$dir' && cap-hash --check m"
check_eq "a missing file: exit 1" 1 "$RC"
check_match "a missing file: FAILED open or read" "^cap5.pcap: FAILED open or read$" "$(printf '%s\n' "$OUT" | grep cap5)"
check_match "a missing file: named on stderr" "cap-hash: cap5.pcap: No such file or directory" "$ERR"
check_match "a missing file: sha256sum's warning" "WARNING: 1 listed file could not be read" "$ERR"
mv "$WORK/moved.pcap" "$dir/cap5.pcap"

# Captures still being written: a real writer holds the file open.
live="$dir/live.pcap"
head -c 5000 /dev/urandom >"$live"
(exec 3>>"$live"; exec sleep 30) &
writer=$!
for _ in $(seq 50); do [ -e "/proc/$writer/fd/3" ] && break; sleep 0.1; done
run_tool cap-hash "$live" "$dir/cap1.pcap"
check_eq "a live capture: exit 1" 1 "$RC"
check_eq "a live capture is refused with who writes it" \
  "cap-hash: $live: still being written by $writer (sleep); use --force to hash it anyway" "$ERR"
check_eq "the other file is still hashed" "$dir/cap1.pcap" "$(field file "$OUT")"
run_tool cap-hash --force "$live"
check_eq "--force hashes it" "$(sha256sum <"$live" | cut -d' ' -f1)" "$(field sha256 "$OUT")"
kill "$writer"
wait "$writer" 2>/dev/null || true
run_tool cap-hash "$live"
check_eq "once the writer is gone it is hashed" 0 "$RC"
run_tool sh -c "printf 'file=%s\tstate=running\n' '$live' | cap-hash"
check_eq "a record with state=running is refused" 1 "$RC"
check_match "and says why" "still being written \(its record says state=running\); use --force" "$ERR"

# Per-file failures: said, the rest done, exit 1.
run_tool cap-hash "$dir/cap1.pcap" "$dir/nope.pcap" "$dir/sub" "$dir/cap2.pcap"
check_eq "failures: exit 1" 1 "$RC"
check_eq "failures: named" "cap-hash: $dir/nope.pcap: No such file or directory
cap-hash: $dir/sub: Is a directory" "$ERR"
check_eq "failures: the good files are hashed" 2 "$(printf '%s\n' "$OUT" | wc -l)"

# Usage errors exit 2 and do nothing.
run_tool cap-hash --algo nosuchdigest "$dir/cap1.pcap"
check_eq "an unknown digest exits 2" 2 "$RC"
check_match "and names it with OpenSSL's words" "^cap-hash: unknown digest algorithm 'nosuchdigest' \(error:[0-9A-F]+:.*unsupported\)" "$ERR"
check_eq "and writes nothing" "" "$OUT"
run_tool cap-hash --check --sidecar "$WORK/hashes"
check_eq "--check with --sidecar exits 2" 2 "$RC"
run_tool cap-hash -j -3 "$dir/cap1.pcap"
check_eq "a negative --jobs exits 2" 2 "$RC"

# Write errors are errors (coreutils' /dev/full check).
if [ -w /dev/full ]; then
  run_tool sh -c "cap-hash '$dir/cap1.pcap' > /dev/full"
  check_eq "writing to a full disk exits 1" 1 "$RC"
  check_match "and says write error" 'cap-hash: write error' "$ERR"
fi

# Empty input is success with empty output, hashing and checking.
run_tool sh -c ': | cap-hash'
check_eq "empty input: exit 0" 0 "$RC"
check_eq "empty input: no output" "" "$OUT$ERR"
run_tool sh -c ': | cap-hash --check'
check_eq "empty input to --check: exit 0" 0 "$RC"

# Output streams: the first record comes out while stdin is still open.
mkfifo "$WORK/in"
cap-hash <"$WORK/in" >"$WORK/streamed" &
hasher=$!
exec 4>"$WORK/in"
printf '%s\n' "$dir/cap1.pcap" >&4
for _ in $(seq 100); do [ -s "$WORK/streamed" ] && break; sleep 0.05; done
check_eq "a result is written before the input ends" 1 "$(wc -l <"$WORK/streamed")"
printf '%s\n' "$dir/cap2.pcap" >&4
exec 4>&-
wait "$hasher"
check_eq "and the rest after" 2 "$(wc -l <"$WORK/streamed")"

# Audit: one syslog line per file, to our own socket; a lost line is said.
if command -v python3 >/dev/null; then
  python3 - "$WORK/log" >"$WORK/syslog" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
for _ in range(3):
    print(s.recv(4096).decode(), flush=True)
EOF
  listener=$!
  for _ in $(seq 50); do [ -S "$WORK/log" ] && break; sleep 0.1; done
  CAPTURE_SYSLOG=local3 CAPTURE_SYSLOG_SOCKET="$WORK/log" cap-hash "$dir/cap1.pcap" "$dir/nope.pcap" >/dev/null 2>&1 || true
  CAPTURE_SYSLOG=local3 CAPTURE_SYSLOG_SOCKET="$WORK/log" cap-hash -c "$WORK/hashes" >/dev/null 2>&1 || true
  wait "$listener" || true
  check_match "audit: a hashed file" "cap-hash\[[0-9]+\]: action=hash outcome=ok user=[^ ]+ (sudo_user=[^ ]+ )?file=$dir/cap1.pcap sha256=[0-9a-f]{64}" "$(sed -n 1p "$WORK/syslog")"
  check_match "audit: a failure" "action=hash outcome=failed .*file=$dir/nope.pcap" "$(sed -n 2p "$WORK/syslog")"
  check_match "audit: a check" "action=check outcome=(ok|failed) " "$(sed -n 3p "$WORK/syslog")"
fi
run_tool env CAPTURE_SYSLOG=on CAPTURE_SYSLOG_SOCKET="$WORK/no-such-socket" cap-hash "$dir/cap1.pcap"
check_match "a lost audit line is said on stderr" "^cap-hash: syslog: $WORK/no-such-socket: .*not logged: action=hash" "$ERR"

# The man page documents every option --help knows.
man="$CAPTURE_SOURCE/man/cap-hash.1"
if [ -f "$man" ]; then
  sed 's/\\-/-/g' "$man" >"$WORK/man.txt"
  missing=""
  for opt in $(cap-hash --list-options); do
    grep -qE -- "(^|[^a-z-])$opt([^a-z-]|$)" "$WORK/man.txt" || missing="$missing $opt"
  done
  check_eq "the man page names every option" "" "$missing"
fi

# The tcpdump corpus, read in place: the same digests as sha256sum.
if [ -d "$CAPTURE_CORPUS/tcpdump" ]; then
  find "$CAPTURE_CORPUS/tcpdump" -name '*.pcap' | sort >"$WORK/corpus.all"
  sed -n 1,60p "$WORK/corpus.all" >"$WORK/corpus"  # not head in a pipe: pipefail and SIGPIPE
  check_eq "corpus: the same digests as sha256sum" \
    "$(xargs -d '\n' sha256sum <"$WORK/corpus")" "$(cap-hash --human <"$WORK/corpus")"
fi
finish
