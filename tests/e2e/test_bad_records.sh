#!/usr/bin/env bash
# Junk where records, record files, a configuration or options are
# expected: every tool that reads records on stdin (cap-info, cap-hash,
# cap-merge, cap-stop) names each junk line by its number, skips it, and
# still does the good lines (exit 1); junk is never taken for a capture; a
# capture piped in is refused once; nothing hangs or grows without bound.
# cap-ls and cap-stop name each junk record file in the capture directory
# (binary, empty, half, huge, a FIFO, a symbolic link) and list the rest.
# A junk configuration line is refused with its line number (exit 2), and
# no option or configuration value hangs a tool (Boost's %value%).
source "$(dirname "$0")/lib.sh"
# Messages hold bytes that are not UTF-8: grep them as bytes (and -a: as text).
export LC_ALL=C
need_cmd python3
need_cmd timeout
seeds=$CAPTURE_SOURCE/tests/fuzz/seeds/fuzz_capture_reader
good=$WORK/good.pcap
cp "$seeds/le_ns.pcap" "$good"
export CAPTURE_DIR=$WORK/spool
mkdir -p "$CAPTURE_DIR"

# The junk: one good line first and last, and between them binary bytes, a
# half record, an unknown record version's key, an overlong line, NUL bytes,
# a line of escape sequences, CRLF, and a lone '='.
python3 - "$good" >"$WORK/junk.txt" <<'EOF'
import sys
good = sys.argv[1].encode()
out = sys.stdout.buffer
out.write(b"file=" + good + b"\n")                        # 1
out.write(b"\x01\x02\xff\xfe binary\n")                     # 2: a path nothing is named
out.write(b"id=abc\tki\n")                                  # 3: half a record
out.write(b"format_version=2\tfile=" + good + b"\n")        # 4: a key of a later version: passed on
out.write(b"x" * (2 << 20) + b"\n")                         # 5: 2 MiB on one line
out.write(b"file=" + good + b"\x00junk\n")                  # 6: a NUL byte
out.write(b"\x1b]0;owned\x07\x1b[2J\n")                     # 7: escape sequences
out.write(b"file=" + good + b"\r\n")                        # 8: CRLF
out.write(b"=\n")                                           # 9
out.write(good + b"\n")                                     # 10: a bare path
EOF

bounded() { timeout -k 5 60 "$@"; }

for tool in cap-info cap-hash cap-merge; do
  args=(--records)
  [ "$tool" = cap-merge ] && args=(-w "$WORK/merged.pcap" --records)
  set +e
  bounded "$tool" "${args[@]}" <"$WORK/junk.txt" >"$WORK/out" 2>"$WORK/err"
  rc=$?
  set -e
  check_eq "$tool: junk lines make the exit status 1" 1 "$rc"
  err=$(cat "$WORK/err")
  check_match "$tool: the half record named by its line" "^$tool: standard input:3: field 'ki' is not key=value" "$err"
  check_match "$tool: the overlong line named, not kept" "^$tool: standard input:5: a line longer than 1 MiB, skipped" "$err"
  check_match "$tool: the NUL byte named" "^$tool: standard input:6: binary data \(a NUL byte\)" "$err"
  if grep -q $'\x1b' "$WORK/err"; then fail "$tool: an escape sequence reached stderr raw"; else ok "$tool: no escape sequence reaches the terminal"; fi
  check_match "$tool: the escape sequences shown as text" '\\x1b\]0;owned\\x07\\x1b\[2J' "$err"
  check_eq "$tool: no message without the tool's name" "" "$(grep -av "^$tool: " "$WORK/err" || true)"
done
# What each did with the good lines (1, 4, 8, 10) and the bare junk paths (2, 7, 9).
check_eq "cap-info: the good lines described, and nothing else" 4 \
  "$(cap-info --records <"$WORK/junk.txt" 2>/dev/null | grep -ac "file=$good	format=pcap-ns" || true)"
check_match "cap-info: a key of a later version passed on" "^format_version=2	file=$good	" \
  "$(cap-info --records <"$WORK/junk.txt" 2>/dev/null)"
check_eq "cap-hash: the good lines hashed" 4 "$(cap-hash --records <"$WORK/junk.txt" 2>/dev/null | grep -c "sha256=" || true)"
check_eq "cap-merge: the good lines merged" "$((4 * $(field packets "$(cap-info --records "$good")")))" \
  "$(field packets "$(cap-info --records "$WORK/merged.pcap")")"
check_match "cap-info: a junk bare path is a file that is not there" "^cap-info: \\\\x01\\\\x02.* binary: No such file" \
  "$(cap-info --records <"$WORK/junk.txt" 2>&1 >/dev/null)"

# A capture piped in where records are expected: refused once, not read.
for tool in cap-info cap-hash cap-merge cap-stop; do
  run_tool bounded "$tool" <"$good"
  check_eq "$tool < capture: exit 1" 1 "$RC"
  check_eq "$tool < capture: one message" \
    "$tool: standard input:1: binary data, not records (a capture file is named as an argument, not piped in); none of it is read" "$ERR"
done
# Endless input on one line: bounded memory, then the end (ASan, which
# cannot run under ulimit -v, bounds the memory itself).
if [ "${CAPTURE_SANITIZED:-OFF}" = ON ]; then
  run_tool env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}hard_rss_limit_mb=1024:max_allocation_size_mb=1024" \
    bash -c 'head -c 64M /dev/zero | tr "\0" x | timeout 60 cap-info'
else
  run_tool bash -c 'head -c 64M /dev/zero | tr "\0" x | (ulimit -v 1048576; timeout 60 cap-info)'
fi
check_eq "a 64 MiB line: refused, in bounded memory" "cap-info: standard input:1: a line longer than 1 MiB, skipped" "$ERR"

# cap-hash --check: junk lines are counted and fail the run; -v names them.
sha256sum "$good" >"$WORK/sums"
cat "$WORK/junk.txt" >>"$WORK/sums"
run_tool bounded cap-hash --check -v "$WORK/sums"
check_eq "cap-hash --check: junk fails the check" 1 "$RC"
check_match "cap-hash --check: the good line checked" "^$good: OK$" "$OUT"
check_match "cap-hash --check -v: the NUL line named" "$WORK/sums:7: binary data \(a NUL byte\)" "$ERR"
check_match "cap-hash --check -v: the overlong line named" "$WORK/sums:6: a line longer than 1 MiB" "$ERR"

# Junk record files in the capture directory.
printf 'id=aaaaaa\tkind=live\tstate=stopped\tanalyst=ann\tfile=%s\tstarted=2026-01-01T00:00:00Z\n' "$good" \
  >"$CAPTURE_DIR/good.pcap.record"
printf '\x00\x01binary\n' >"$CAPTURE_DIR/binary.pcap.record"
: >"$CAPTURE_DIR/empty.pcap.record"
printf 'id=b\tki\n' >"$CAPTURE_DIR/half.pcap.record"
head -c 2M /dev/zero | tr '\0' y >"$CAPTURE_DIR/huge.pcap.record"
echo 'id=cccccc	kind=live	state=stopped' >"$WORK/elsewhere.record"
ln -s "$WORK/elsewhere.record" "$CAPTURE_DIR/link.pcap.record"
mkfifo "$CAPTURE_DIR/fifo.pcap.record"
printf 'id=dddddd\tkind=live\tstate=stopped\tanalyst=\x1b[2Jmallory\tfile=/x\tstarted=2026-01-02T00:00:00Z\n' \
  >"$CAPTURE_DIR/escape.pcap.record"
run_tool bounded cap-ls --all --records
check_eq "cap-ls: junk record files make the exit status 1" 1 "$RC"
check_match "cap-ls: the good record listed" "^id=aaaaaa	" "$OUT"
for f in binary:'binary data \(a NUL byte\)' empty:'not a capture record' half:"field 'ki' is not key=value" \
         huge:'record file larger than 1 MiB' link:'a symbolic link, not followed' fifo:'not a regular file'; do
  check_match "cap-ls: the ${f%%:*} record named" "^cap-ls: $CAPTURE_DIR/${f%%:*}.pcap.record: ${f#*:}" "$ERR"
done
check_eq "cap-ls: the record behind the link is not read" "" "$(grep cccccc <<<"$OUT" || true)"
run_tool bounded cap-ls --all --human
if grep -q $'\x1b' <<<"$OUT$ERR"; then fail "cap-ls --human: an escape sequence reached the terminal raw"; else ok "cap-ls --human: what another analyst wrote is shown as text"; fi
check_match "cap-ls --human: the analyst shown escaped" '\\x1b\[2Jmallory' "$OUT"
run_tool bounded cap-stop aaaaaa
check_match "cap-stop: the junk record files named" "cap-stop: $CAPTURE_DIR/fifo.pcap.record: not a regular file" "$ERR"
check_match "cap-stop: the good one found" "cap-stop: aaaaaa: not running \(stopped\)" "$ERR"

# Configuration files and options.
printf 'dir = %s\n# a comment\njunk line here\n' "$CAPTURE_DIR" >"$WORK/junk.conf"
run_tool bounded cap-ls --config "$WORK/junk.conf"
check_eq "a junk configuration line: exit 2" 2 "$RC"
check_match "named by its line" "^cap-ls: $WORK/junk.conf:3: not a \"key = value\" line: 'junk line here'" "$ERR"
printf 'snaplen = %%value%%\n' >"$WORK/placeholder.conf"
for tool in cap-info cap-hash cap-merge cap-start cap-ls cap-stop cap-pull; do
  run_tool bounded "$tool" --config "$WORK/placeholder.conf"
  check_eq "$tool: a configuration value of %value% is refused, not looped on" 2 "$RC"
  run_tool bounded "$tool" --jobs '%value%' --wait '%value%' --snaplen '%value%' --max-open '%value%'
  check_eq "$tool: an option value of %value% is refused, not looped on" 2 "$RC"
done

finish
