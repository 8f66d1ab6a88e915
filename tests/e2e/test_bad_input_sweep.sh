#!/usr/bin/env bash
# Bad input, swept: every tool that reads capture files meets thousands of
# damaged ones, made deterministically (a fixed seed) from the corpus and
# from our own seeds by tests/helpers/mutate_captures.cpp: cut short at every
# kind of boundary, flipped bytes, huge and zero lengths, absurd snapshot
# lengths, bad magic, pcapng blocks whose lengths lie, gzip and other
# formats we do not read. Many files go to each invocation, with good files
# among them. For every invocation: no crash (no signal, no sanitizer
# report: this test also runs in the ASan+UBSan build), no hang (timeout),
# no unbounded allocation (ulimit -v 1 GiB; in the sanitizer build, ASan's
# own RSS and allocation limits), exit 1, a message naming each broken file
# and what is wrong (sweep_check.py), and the good files processed exactly
# as they are alone. Then the whole corpus, undamaged, through every tool.
source "$(dirname "$0")/lib.sh"
need_cmd python3
need_cmd timeout
: "${CAPTURE_HELPERS:?run through ctest (CAPTURE_HELPERS unset)}"
check=$CAPTURE_SOURCE/tests/e2e/sweep_check.py
seeds=$CAPTURE_SOURCE/tests/fuzz/seeds/fuzz_capture_reader
corpus=$CAPTURE_CORPUS/tcpdump

if [ "${CAPTURE_SANITIZED:-OFF}" = ON ]; then
  # ASan reserves terabytes of address space, so ulimit -v cannot be used:
  # its own limits say the same (one allocation, and the whole RSS).
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}hard_rss_limit_mb=1024:max_allocation_size_mb=1024:allocator_may_return_null=0"
  bounded() { timeout -k 5 180 "$@"; }
else
  bounded() { (ulimit -v 1048576 && exec timeout -k 5 60 "$@"); }
fi

# The damaged files, and a manifest: PATH, KIND, bad|any ("bad": certainly broken).
mkdir -p "$WORK/mutants/seeds" "$WORK/mutants/pcap" "$WORK/mutants/pcapng" "$WORK/good"
"$CAPTURE_HELPERS/mutate_captures" 20261126 "$WORK/mutants/seeds" 200 "$seeds"/* >"$WORK/manifest.tsv"
if [ -d "$corpus" ]; then
  # Fewer pcapng files in the corpus: more mutants of each.
  "$CAPTURE_HELPERS/mutate_captures" 7 "$WORK/mutants/pcap" 2 "$corpus"/*.pcap >>"$WORK/manifest.tsv" 2>/dev/null
  "$CAPTURE_HELPERS/mutate_captures" 8 "$WORK/mutants/pcapng" 8 "$corpus"/*.pcapng >>"$WORK/manifest.tsv" 2>/dev/null
else
  echo "note: corpus absent at $corpus: mutants of our own seeds only"
fi
total=$(wc -l <"$WORK/manifest.tsv")
bad=$(grep -c $'\tbad$' "$WORK/manifest.tsv")
[ "$total" -ge 1000 ] && ok "$total damaged files ($bad certainly broken)" || fail "only $total damaged files"
sort -t $'\t' -k2,2 -u "$WORK/manifest.tsv" | cut -f2 | tr '\n' ' ' | sed 's/^/kinds: /;s/$/\n/'

# Good files, and what each tool makes of them alone.
cp "$seeds"/* "$WORK/good/"
goods=("$WORK/good"/*)
good_packets=0
cap-info --records "${goods[@]}" >"$WORK/good.records"
while read -r line; do good_packets=$((good_packets + $(field packets "$line"))); done <"$WORK/good.records"
cap-hash --records "${goods[@]}" >"$WORK/good.hashes"

# packets_in FILE: the packets in a capture we wrote, which cap-info must read without a word.
packets_in() {
  local out
  out=$(cap-info --records "$1" 2>"$WORK/info.err") || { echo "unreadable: $(cat "$WORK/info.err")"; return; }
  field packets "$out"
}

# run_sweep WHAT TOOL EXPECTED_RC INPUTS [--records] -- COMMAND...: runs COMMAND
# bounded; checks it ended by itself (no signal, no timeout), no sanitizer
# spoke, it exited EXPECTED_RC, and its messages meet sweep_check.py (unless
# INPUTS is "-").
run_sweep() {
  local what=$1 tool=$2 want=$3 inputs=$4 records=()
  shift 4
  if [ "$1" = --records ]; then records=("$WORK/out"); shift; fi
  shift
  set +e
  bounded "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$?
  set -e
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    fail "$what: hung (stopped after the time allowed)"
    return
  fi
  if [ "$rc" -ge 128 ]; then
    fail "$what: died of signal $((rc - 128))"
    tail -n 30 "$WORK/err" >&2
    return
  fi
  if grep -Eq 'Sanitizer|runtime error:|bad_alloc|terminate called|out of memory' "$WORK/err"; then
    fail "$what: $(grep -Em1 'Sanitizer|runtime error:|bad_alloc|terminate called|out of memory' "$WORK/err")"
    return
  fi
  check_eq "$what: exit code" "$want" "$rc"
  [ "$inputs" != - ] || return 0
  if python3 "$check" "$tool" "$inputs" "$WORK/err" "${records[@]}" >"$WORK/check.txt"; then
    ok "$what: $(tail -n1 "$WORK/check.txt")"
  else
    fail "$what: $(tail -n1 "$WORK/check.txt")"
    head -n 21 "$WORK/check.txt" >&2
  fi
}

# Batches of 400 damaged files, each with a good file first and the rest last.
split -l 400 -d -a 3 "$WORK/manifest.tsv" "$WORK/batch."
batches=("$WORK"/batch.*)
# batch_inputs BATCH: the inputs of one invocation, good files marked "good".
batch_inputs() {
  printf '%s\tgood\tgood\n' "${goods[0]}"
  cat "$1"
  for g in "${goods[@]:1}"; do printf '%s\tgood\tgood\n' "$g"; done
}

n=0
for b in "${batches[@]}"; do
  n=$((n + 1))
  batch_inputs "$b" >"$WORK/inputs.tsv"
  mapfile -t paths < <(cut -f1 "$WORK/inputs.tsv")

  # cap-info: a record or a message for every file; the good files' records as alone.
  run_sweep "cap-info, batch $n" cap-info 1 "$WORK/inputs.tsv" --records -- cap-info --records -j2 -- "${paths[@]}"
  check_eq "cap-info, batch $n: the good files described as alone" "${#goods[@]}" \
    "$(grep -cFx -f "$WORK/good.records" "$WORK/out" || true)"

  # cap-hash reads any bytes: every file hashed, nothing to say.
  run_sweep "cap-hash, batch $n" cap-hash 0 /dev/null -- cap-hash --records -j2 -- "${paths[@]}"
  check_eq "cap-hash, batch $n: a record per file" "${#paths[@]}" "$(wc -l <"$WORK/out")"
  check_eq "cap-hash, batch $n: the good files' digests as alone" "${#goods[@]}" \
    "$(grep -cFx -f "$WORK/good.hashes" "$WORK/out" || true)"

  # cap-merge: what can be read is merged (pcapng: the damage makes odd link types).
  rm -f "$WORK/merged.pcapng"
  run_sweep "cap-merge, batch $n" cap-merge 1 "$WORK/inputs.tsv" -- \
    cap-merge -F pcapng -w "$WORK/merged.pcapng" -- "${paths[@]}"
  got=$(packets_in "$WORK/merged.pcapng")
  if [[ "$got" =~ ^[0-9]+$ ]] && [ "$got" -ge "$good_packets" ]; then
    ok "cap-merge, batch $n: a readable output with the good files' packets ($got >= $good_packets)"
  else
    fail "cap-merge, batch $n: output $got, expected a capture of at least $good_packets packets"
  fi

  # cap-pull: the batch as a daemonlogger archive (names give the start,
  # so every file is selected), the good files newest, as a daemon's are.
  arch="$WORK/archive.$n"
  mkdir "$arch"
  i=0
  : >"$WORK/pull-inputs.tsv"
  while IFS=$'\t' read -r path kind verdict; do
    name="$arch/sweep.$((1000000000 + i * 60))"
    i=$((i + 1))
    ln "$path" "$name"
    printf '%s\t%s\t%s\n' "$name" "$kind" "$verdict" >>"$WORK/pull-inputs.tsv"
  done < <(cat "$b"; printf '%s\tgood\tgood\n' "${goods[@]}")
  rm -f "$WORK/pulled.pcapng"
  run_sweep "cap-pull, batch $n" cap-pull 1 "$WORK/pull-inputs.tsv" -- \
    cap-pull -r "$arch" -e '' -F pcapng -j2 -w "$WORK/pulled.pcapng" --dir "$WORK/spool"
  got=$(packets_in "$WORK/pulled.pcapng")
  if [[ "$got" =~ ^[0-9]+$ ]] && [ "$got" -ge "$good_packets" ]; then
    ok "cap-pull, batch $n: a readable output with the good files' packets ($got >= $good_packets)"
  else
    fail "cap-pull, batch $n: output $got, expected a capture of at least $good_packets packets"
  fi
  rm -rf "$arch"
done

# Files that hold no packet at all beside good ones: the output holds exactly the good packets.
awk -F'\t' 'n < 300 && $2 ~ /^(trunc-file-header|magic-bad|byte-order-magic-bad|section-version-bad|empty|text|elf|gzip|zstd-magic|random|zeros)$/ { print; n++ }' \
  "$WORK/manifest.tsv" >"$WORK/unreadable.tsv"
batch_inputs "$WORK/unreadable.tsv" >"$WORK/inputs.tsv"
mapfile -t paths < <(cut -f1 "$WORK/inputs.tsv")
rm -f "$WORK/merged.pcapng"
run_sweep "cap-merge, unreadable files" cap-merge 1 "$WORK/inputs.tsv" -- \
  cap-merge -F pcapng -w "$WORK/merged.pcapng" -- "${paths[@]}"
check_eq "cap-merge: exactly the good files' packets" "$good_packets" "$(packets_in "$WORK/merged.pcapng")"

# Things that are not files at all: a FIFO nobody writes to (opening it
# must not wait), a directory, a device that never ends, a missing file.
mkfifo "$WORK/fifo"
mkdir "$WORK/a-directory"
{
  printf '%s\tgood\tgood\n' "${goods[0]}"
  printf '%s\tspecial\tbad\n' "$WORK/fifo" "$WORK/a-directory" /dev/zero "$WORK/missing.pcap"
  printf '%s\tgood\tgood\n' "${goods[@]:1}"
} >"$WORK/inputs.tsv"
mapfile -t paths < <(cut -f1 "$WORK/inputs.tsv")
run_sweep "cap-info, not files" cap-info 1 "$WORK/inputs.tsv" --records -- cap-info --records -- "${paths[@]}"
run_sweep "cap-hash, not files" cap-hash 1 "$WORK/inputs.tsv" -- cap-hash --records -- "${paths[@]}"
check_eq "cap-hash: the good files still hashed" "${#goods[@]}" "$(grep -cFx -f "$WORK/good.hashes" "$WORK/out" || true)"
for p in "${paths[@]}"; do printf 'file=%s\tsha256=%064d\n' "$p" 0; done >"$WORK/check-input"
run_sweep "cap-hash --check, not files" cap-hash 1 - -- cap-hash --check --records -- "$WORK/check-input"
check_match "cap-hash --check: a FIFO is refused, not waited for" "$WORK/fifo: not a regular file" "$(cat "$WORK/err")"
rm -f "$WORK/merged.pcapng"
run_sweep "cap-merge, not files" cap-merge 1 "$WORK/inputs.tsv" -- cap-merge -w "$WORK/merged.pcapng" -- "${paths[@]}"
check_eq "cap-merge: the good files merged" "$good_packets" "$(packets_in "$WORK/merged.pcapng")"

# The whole corpus, undamaged: every tool reads every file (cap-info's own
# corpus test compares it with capinfos); merge and pull keep every packet.
if [ -d "$corpus" ]; then
  files=("$corpus"/*.pcap "$corpus"/*.pcapng)
  corpus_packets=0
  while read -r line; do corpus_packets=$((corpus_packets + $(field packets "$line"))); done \
    < <(cap-info --records "${files[@]}")
  : >"$WORK/none.tsv"
  run_sweep "cap-hash, the corpus" cap-hash 0 "$WORK/none.tsv" -- cap-hash --records -- "${files[@]}"
  check_eq "cap-hash: every corpus file hashed" "${#files[@]}" "$(wc -l <"$WORK/out")"
  rm -f "$WORK/merged.pcapng"
  run_sweep "cap-merge, the corpus" cap-merge 0 "$WORK/none.tsv" -- \
    cap-merge -F pcapng -w "$WORK/merged.pcapng" -- "${files[@]}"
  check_eq "cap-merge: every corpus packet" "$corpus_packets" "$(packets_in "$WORK/merged.pcapng")"
  rm -f "$WORK/pulled.pcapng"
  run_sweep "cap-pull, the corpus as an archive" cap-pull 0 "$WORK/none.tsv" -- \
    cap-pull -r "$corpus" -e '' -F pcapng -w "$WORK/pulled.pcapng" --dir "$WORK/spool"
  check_eq "cap-pull: every corpus packet" "$corpus_packets" "$(packets_in "$WORK/pulled.pcapng")"
fi

finish
