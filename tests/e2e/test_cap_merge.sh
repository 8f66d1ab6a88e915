#!/usr/bin/env bash
# cap-merge against mergecap: byte for byte on interleaved synthetic
# archives (pcap, pcap-ns) and on corpus files, packet for packet in
# pcapng; ties in input order; link types; broken inputs; pipes; the
# record into cap-hash; a tight descriptor limit with hundreds of inputs;
# a process limit that leaves no writer thread.
source "$(dirname "$0")/lib.sh"
need_cmd mergecap
need_cmd tcpdump
make_archive="$CAPTURE_BIN/bench/make_archive"

# Two sensors over the same span: packets interleave, the first ones tie.
# snaplen 262144 is what mergecap 4 writes, so whole files can be compared.
mk() { # DIR SEED FORMAT [make_archive options]
  local dir=$1 seed=$2 format=$3
  shift 3
  "$make_archive" --out "$WORK/$dir" --prefix "$dir" --files 3 --size 128K --seed "$seed" --format "$format" \
    --snaplen 262144 --quiet "$@" >/dev/null
}
mk a 1 pcap
mk b 2 pcap --interleave 8
A=("$WORK"/a/*)
B=("$WORK"/b/*)
check_eq "the generator made 3 + 3 files" "3 3" "${#A[@]} ${#B[@]}"

# Every packet as one line: time, lengths and bytes (for comparisons that
# do not depend on the file header).
packets() { tcpdump -r "$1" -tt --time-stamp-precision=nano -nn -xx -q 2>/dev/null | awk '
  /^[0-9]/ { if (line != "") print line; line = $0; next } { line = line " " $0 } END { if (line != "") print line }'; }

# pcap: byte-identical with mergecap, its tie rule asked for.
mergecap -F pcap -w "$WORK/ref.pcap" "${A[@]}" "${B[@]}"
run_tool cap-merge --no-syslog --mergecap-order -w "$WORK/ours.pcap" "${A[@]}" "${B[@]}"
check_eq "pcap: exit 0" 0 "$RC"
check_eq "pcap: no stderr" "" "$ERR"
if cmp -s "$WORK/ref.pcap" "$WORK/ours.pcap"; then ok "pcap: byte-identical with mergecap -F pcap"; else fail "pcap: differs from mergecap -F pcap"; fi

# No second thread to be had: a process limit of 1 (for nobody: root is
# not bound by it) makes the writer thread fail to start, and the merge
# writes on its own thread instead, the same bytes.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && command -v prlimit >/dev/null && id nobody >/dev/null 2>&1; then
  chmod 755 "$WORK" "$WORK/a" "$WORK/b"
  mkdir -m 0777 "$WORK/nproc"
  # (LeakSanitizer needs a thread at exit, which the limit denies.)
  run_tool env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups prlimit --nproc=1 -- \
    cap-merge --no-syslog --mergecap-order -w "$WORK/nproc/ours.pcap" "${A[@]}" "${B[@]}"
  check_eq "no thread to be had (prlimit --nproc=1): exit 0, nothing said" "0:" "$RC:$ERR"
  if cmp -s "$WORK/ref.pcap" "$WORK/nproc/ours.pcap"; then ok "no thread to be had: the same bytes"; else fail "no thread to be had: differs from mergecap"; fi
else
  echo "note: not root (or no setpriv, prlimit or nobody): the process limit is not checked"
fi

# Without --mergecap-order: the same packets, in time order, ties in input order.
cap-merge -w "$WORK/stable.pcap" "${A[@]}" "${B[@]}" >/dev/null
check_eq "default: the same packets as mergecap" "$(packets "$WORK/ref.pcap" | sort | md5sum)" \
  "$(packets "$WORK/stable.pcap" | sort | md5sum)"
check_eq "default: in time order" "" "$(packets "$WORK/stable.pcap" | awk '{ if (NR > 1 && $1 < prev) print NR; prev = $1 }')"
first_a=$(packets "${A[0]}" | sed -n 1p)
first_b=$(packets "${B[0]}" | sed -n 1p)
check_eq "the two archives start with a tie" "${first_a%% *}" "${first_b%% *}"
check_eq "a tie: the earlier input first" "$first_a" "$(packets "$WORK/stable.pcap" | sed -n 1p)"
check_eq "a tie: then the later one" "$first_b" "$(packets "$WORK/stable.pcap" | sed -n 2p)"
cap-merge -w "$WORK/swapped.pcap" "${B[@]}" "${A[@]}" >/dev/null
check_eq "a tie, inputs swapped: the earlier input is now b" "$first_b" "$(packets "$WORK/swapped.pcap" | sed -n 1p)"
check_eq "mergecap puts the later input first" "$first_b" "$(packets "$WORK/ref.pcap" | sed -n 1p)"

# Nanosecond inputs: nanoseconds kept (mergecap -F nsecpcap).
mk ans 3 pcap-ns
mk bns 4 pcap-ns
mergecap -F nsecpcap -w "$WORK/ref-ns.pcap" "$WORK"/ans/* "$WORK"/bns/*
cap-merge --mergecap-order -w "$WORK/ours-ns.pcap" "$WORK"/ans/* "$WORK"/bns/* >/dev/null
if cmp -s "$WORK/ref-ns.pcap" "$WORK/ours-ns.pcap"; then ok "pcap-ns: byte-identical with mergecap -F nsecpcap"; else fail "pcap-ns: differs from mergecap"; fi
ns_and_us=$(cap-merge -w "$WORK/mixed-precision.pcap" "${A[0]}" "$WORK"/bns/* | tr '\t' '\n' | grep '^format=')
check_eq "one nanosecond input makes a nanosecond pcap" "format=pcap-ns" "$ns_and_us"

# pcapng in and out: packet for packet (the headers and options differ).
mk ang 5 pcapng
mk bng 6 pcapng-ns
mergecap -F pcapng -w "$WORK/ref.pcapng" "$WORK"/ang/* "$WORK"/bng/*
cap-merge --mergecap-order -F pcapng -w "$WORK/ours.pcapng" "$WORK"/ang/* "$WORK"/bng/* >/dev/null
check_eq "pcapng: packet for packet as mergecap -F pcapng" "$(packets "$WORK/ref.pcapng" | md5sum)" \
  "$(packets "$WORK/ours.pcapng" | md5sum)"
check_match "pcapng: packets there" '[1-9]' "$(packets "$WORK/ours.pcapng" | wc -l)"

# Concatenation: mergecap -a.
mergecap -F pcap -a -w "$WORK/ref-cat.pcap" "${B[@]}" "${A[@]}"
cap-merge -C -w "$WORK/ours-cat.pcap" "${B[@]}" "${A[@]}" >/dev/null
if cmp -s "$WORK/ref-cat.pcap" "$WORK/ours-cat.pcap"; then ok "-C: byte-identical with mergecap -a"; else fail "-C differs from mergecap -a"; fi

# The corpus, read in place: Ethernet files of different snaplens and both
# byte orders. mergecap writes snaplen 262144, we the largest of the inputs,
# so the records are compared byte for byte and the headers apart.
if [ -d "$CAPTURE_CORPUS/tcpdump" ]; then
  C="$CAPTURE_CORPUS/tcpdump"
  corpus=("$C/3560_CDP.pcap" "$C/DTP.pcap" "$C/802.1w_rapid_STP.pcap" "$C/HSRP_coup.pcap" "$C/IGMP_V1.pcap" \
          "$C/UDLD.pcap" "$C/isup.pcap" "$C/pptp.pcap")
  mergecap -F pcap -w "$WORK/ref-corpus.pcap" "${corpus[@]}"
  run_tool cap-merge --mergecap-order -w "$WORK/ours-corpus.pcap" "${corpus[@]}"
  check_eq "corpus: exit 0" 0 "$RC"
  if cmp -s <(tail -c +25 "$WORK/ref-corpus.pcap") <(tail -c +25 "$WORK/ours-corpus.pcap"); then
    ok "corpus: records byte-identical with mergecap (big-endian inputs included)"
  else
    fail "corpus: records differ from mergecap"
  fi
  check_eq "corpus: packets as mergecap" "$(packets "$WORK/ref-corpus.pcap" | md5sum)" "$(packets "$WORK/ours-corpus.pcap" | md5sum)"
  check_eq "corpus: snaplen is the largest of the inputs" "65535" \
    "$(od -An -tu4 -j16 -N4 "$WORK/ours-corpus.pcap" | tr -d ' ')"
  check_eq "corpus: same header otherwise" "$(head -c 16 "$WORK/ref-corpus.pcap" | od -An -tx1)" \
    "$(head -c 16 "$WORK/ours-corpus.pcap" | od -An -tx1)"

  # Mixed link types: Ethernet and Linux SLL.
  mixed=("$C/3560_CDP.pcap" "$C/babel.pcap")
  run_tool cap-merge -w "$WORK/mixed.pcapng" "${mixed[@]}"
  check_eq "mixed link types: exit 0" 0 "$RC"
  check_match "mixed link types: pcapng by default" 'format=pcapng' "$OUT"
  if command -v capinfos >/dev/null; then
    check_match "mixed link types: two interfaces" 'Number of interfaces in file: 2' "$(capinfos "$WORK/mixed.pcapng")"
    check_eq "mixed link types: every packet" "$(capinfos -Mc "${mixed[@]}" | awk '/packets/ { n += $NF } END { print n }')" \
      "$(capinfos -Mc "$WORK/mixed.pcapng" | awk '/packets/ { print $NF }')"
  fi
  run_tool cap-merge -F pcap -w "$WORK/mixed.pcap" "${mixed[@]}"
  check_eq "mixed link types with -F pcap: exit 1" 1 "$RC"
  check_match "and a clear message naming both" "^cap-merge: cannot write pcap: the inputs have 2 link types \(EN10MB in .*3560_CDP.pcap, LINUX_SLL in .*babel.pcap\).*-F pcapng" "$ERR"
  check_eq "and no file" "" "$(ls "$WORK"/mixed.pcap "$WORK"/.mixed.pcap.* 2>/dev/null)"
else
  echo "SKIP (visible): corpus absent at $CAPTURE_CORPUS; corpus comparisons not run"
fi

# A broken input: named, the others merged, its packets before the break
# kept (as mergecap does), exit 1.
head -c 100000 "${A[1]}" >"$WORK/cut.pcap"
printf 'not a capture\n' >"$WORK/junk.pcap"
set +e
mergecap -F pcap -w "$WORK/ref-broken.pcap" "${A[0]}" "$WORK/cut.pcap" "${B[0]}" 2>/dev/null
set -e
run_tool cap-merge --mergecap-order -w "$WORK/broken.pcap" "${A[0]}" "$WORK/cut.pcap" "$WORK/junk.pcap" "$WORK/missing.pcap" "${B[0]}"
check_eq "broken input: exit 1" 1 "$RC"
check_match "the cut file is named" "cap-merge: $WORK/cut.pcap: truncated .*at byte" "$ERR"
check_match "the junk file is named" "cap-merge: $WORK/junk.pcap: not a pcap or pcapng file" "$ERR"
check_match "the missing file is named" "cap-merge: $WORK/missing.pcap: No such file or directory" "$ERR"
if cmp -s "$WORK/ref-broken.pcap" "$WORK/broken.pcap"; then ok "broken input: the same output as mergecap"; else fail "broken input: differs from mergecap"; fi
check_eq "the record counts the sources merged" 3 "$(field sources "$OUT")"

# -w - in a pipe, read by tcpdump.
want=$(packets "$WORK/ours.pcap" | wc -l)
check_eq "-w - into tcpdump -r -" "$want" "$(cap-merge -w - "${A[@]}" "${B[@]}" | tcpdump -r - -nn -q 2>/dev/null | wc -l)"
check_eq "-w - -F pcapng into tcpdump -r -" "$want" "$(cap-merge -F pcapng -w - "${A[@]}" "${B[@]}" | tcpdump -r - -nn -q 2>/dev/null | wc -l)"
if command -v script >/dev/null; then
  screen=$(script -qec "cap-merge -w - ${A[0]}; echo rc=\$?" /dev/null | tr -d '\r')
  check_match "-w - on a terminal is refused" "cap-merge: refusing to write a binary capture to a terminal" "$screen"
  check_match "with exit 2" "rc=2" "$screen"
fi
if [ -w /dev/full ]; then
  run_tool sh -c "cap-merge -w - '${A[0]}' > /dev/full"
  check_eq "a full disk: exit 1" 1 "$RC"
  check_match "and says so" "cap-merge: standard output: No space left on device" "$ERR"
fi

# The default output: the capture directory, the naming convention, a record
# that cap-hash takes, and bare paths on stdin.
caps="$WORK/caps"
out=$(printf '%s\n' "${A[@]}" "# a comment" "" "${B[@]}" | SUDO_USER= cap-merge --dir "$caps" -a grant -d 'two sensors: merged')
file=$(field file "$out")
check_match "named by the convention" "^$caps/grant_two.sensors.merged_[A-Z][a-z]{2}\.[A-Z][a-z]{2}[0-9]{2}\.[0-9]{4}-[0-9.]{8}\.UTC_[0-9]+_\.merged\.pcap$" "$file"
check_match "the record: kind, analyst, file first" "^kind=file	analyst=grant	file=" "$out"
check_eq "the record: sources" 6 "$(field sources "$out")"
check_eq "the record: source_files, newline-separated" "$(printf '%s\\n' "${A[@]}" "${B[@]}" | sed 's/\\n$//')" \
  "$(field source_files "$out")"
check_eq "the record: packets" "$want" "$(field packets "$out")"
check_eq "the record: bytes" "$(stat -c %s "$file")" "$(field bytes "$out")"
check_eq "the record: desc" "two sensors: merged" "$(field desc "$out")"
check_eq "the same bytes as with -w" "$(md5sum <"$WORK/stable.pcap")" "$(md5sum <"$file")"
hashed=$(printf '%s\n' "$out" | cap-hash --no-syslog)
check_eq "| cap-hash: the digest of the merged file" "$(sha256sum "$file" | cut -d' ' -f1)" "$(field sha256 "$hashed")"
check_eq "| cap-hash: the record passes through" "6" "$(field sources "$hashed")"
check_eq "no temporary file left" "1" "$(ls -A "$caps" | wc -l)"
# (The analyst's default under sudo, SUDO_USER, is checked under real sudo
# by test_sudo.sh: root with SUDO_USER set is a tool under sudo, whose
# --dir must be a configured capture directory.)

# Hundreds of inputs under a tight descriptor limit: every input open at
# once (they all overlap), and a tree merge with --max-open.
mkdir "$WORK/many"
mk small 9 pcap --size 8K --files 3
smalls=("$WORK"/small/*)
for i in $(seq 1 300); do ln "${smalls[$((i % 3))]}" "$WORK/many/in$i.pcap"; done
run_tool bash -c "ulimit -n 64 && cap-merge -w '$WORK/many.pcap' '$WORK'/many/*.pcap"
check_eq "300 inputs under ulimit -n 64: exit 0" 0 "$RC"
check_eq "300 inputs: no stderr" "" "$ERR"
per=$(for f in "${smalls[@]}"; do packets "$f" | wc -l; done | awk '{ n += $1 } END { print n * 100 }')
check_eq "300 inputs: every packet" "$per" "$(field packets "$OUT")"
run_tool bash -c "ulimit -n 64 && cap-merge --max-open 16 -w '$WORK/many-tree.pcap' '$WORK'/many/*.pcap"
check_eq "300 inputs in a tree: exit 0" 0 "$RC"
if cmp -s "$WORK/many.pcap" "$WORK/many-tree.pcap"; then ok "a tree merge gives the same bytes"; else fail "the tree merge differs"; fi
check_eq "no part files left" "" "$(ls -A "$WORK" | grep '^\.cap-merge' || true)"

# Audit: one syslog line per merge.
if command -v python3 >/dev/null; then
  python3 - "$WORK/log" >"$WORK/syslog" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
print(s.recv(4096).decode(), flush=True)
EOF
  listener=$!
  for _ in $(seq 50); do [ -S "$WORK/log" ] && break; sleep 0.1; done
  CAPTURE_SYSLOG=local3 CAPTURE_SYSLOG_SOCKET="$WORK/log" cap-merge -a grant -w "$WORK/logged.pcap" "${A[0]}" "$WORK/cut.pcap" >/dev/null 2>&1 || true
  wait "$listener" || true
  check_match "audit: the merge" "cap-merge\[[0-9]+\]: action=merge outcome=partial user=[^ ]+ (sudo_user=[^ ]+ )?analyst=grant file=$WORK/logged.pcap sources=2 packets=[0-9]+ failed_inputs=1" "$(cat "$WORK/syslog")"
fi

# Usage errors: exit 2, nothing read.
run_tool cap-merge -F pcapx "${A[0]}"
check_eq "a bad format: exit 2" 2 "$RC"
check_match "and says so" "^cap-merge: --format: 'pcapx' is neither pcap nor pcapng" "$ERR"
run_tool cap-merge --max-open 1 "${A[0]}"
check_eq "a bad --max-open: exit 2" 2 "$RC"

# Empty input is success with empty output.
run_tool sh -c ': | cap-merge'
check_eq "empty input: exit 0" 0 "$RC"
check_eq "empty input: no output" "" "$OUT"
finish
