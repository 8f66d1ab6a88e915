#!/usr/bin/env bash
# The archive changes under a pull or a merge: the newest file grows, a
# file is deleted, a file is cut short (truncating a mapped file raises
# SIGBUS: fd.hpp answers it), and each is handled: no crash, a message
# naming the file when something was lost, exit 1 then, never a packet
# made of the zeros a cut file reads as, and every packet read before is
# kept. Each change lands while the tool has the files mapped: the tool is
# frozen (SIGSTOP) as soon as /proc/PID/maps shows them, or, for writes
# from a mapping, while it waits to write to a pipe nobody reads yet.
source "$(dirname "$0")/lib.sh"
need_cmd tcpdump
need_cmd python3
need_generator
here=$CAPTURE_SOURCE/tests/e2e
cd "$WORK"

# packets FILE...: every whole packet, one line each (time, lengths, SHA-1), sorted.
packets() { python3 "$here/pcap_packets.py" "$@"; }
# frozen DIR ACTION COMMAND...: runs COMMAND, frozen (SIGSTOP) while ACTION
# runs once it maps 8 files of DIR (a walk maps its group of 8 at once; the
# plan, one file at a time); sets RC and FROZEN (yes, or no when COMMAND
# ended first and ACTION ran after it).
frozen() {
  local dir=$1 action=$2
  shift 2
  set +e
  python3 "$here/freeze_when_mapped.py" "$WORK/.frozen" "$dir" 8 "$action" -- "$@"
  RC=$?
  set -e
  FROZEN=no
  [ "$(cat "$WORK/.frozen" 2>/dev/null)" = frozen ] && FROZEN=yes
  return 0
}
# cut_while_writing OUT ERR FILE SIZE COMMAND...: runs COMMAND, which
# writes a capture to standard output, into OUT through a pipe read only
# once FILE is cut to SIZE bytes: by then COMMAND waits to write, the pipe
# full, with its inputs mapped. Its stderr goes to ERR; sets RC.
cut_while_writing() {
  local out=$1 err=$2 file=$3 size=$4 pid
  shift 4
  rm -f pipe
  mkfifo pipe
  "$@" >pipe 2>"$err" &
  pid=$!
  exec 3<pipe
  head -c 100000 <&3 >"$out"
  truncate -s "$size" "$file"
  cat <&3 >>"$out"
  exec 3<&-
  set +e
  wait "$pid"
  RC=$?
  set -e
}

# 8 files of 4 MiB: one group for a pull with -j 1, all mapped at once.
"$GEN" --out arch --files 8 --size 4M --seed 31 --quiet >/dev/null
files=(arch/*)

# --- The newest file grows while it is pulled: read to its last whole
# packet as mapped, silently; the rest is for the next pull.
mkdir grow
ln "${files[@]:0:7}" grow/
newest=grow/$(basename "${files[7]}")
size=$(stat -c %s "${files[7]}")
head -c $((size / 2 + 13)) "${files[7]}" >"$newest"  # ends inside a packet
# It grows, again to inside a packet, while the pull is frozen.
frozen "$WORK/grow/" "head -c $((size / 2 + 13 + size / 4)) '${files[7]}' | tail -c $((size / 4)) >>'$newest'" \
  cap-pull --no-syslog -a t -e '' -r grow -j 1 -w "$WORK/grow.pcap" >/dev/null 2>grow.err
check_eq "growing: exit 0, nothing said" "0:" "$RC:$(cat grow.err)"
reads_whole grow.pcap && ok "growing: the output reads to its end" || fail "growing: $(cat tcpdump.err)"
packets grow.pcap >got
packets "${files[@]:0:7}" >older
packets "${files[@]:0:7}" "$newest" >now
check_eq "growing: every packet of the older files" 0 "$(comm -13 got older | wc -l)"
check_eq "growing: nothing but whole packets of the archive" 0 "$(comm -23 got now | wc -l)"
[ "$(wc -l <got)" -gt "$(wc -l <older)" ] && ok "growing: and the newest file's" || fail "growing: none of the newest file"

# --- Files deleted mid-pull: one mapped already (its bytes stay: all its
# packets), one not opened yet (named, exit 1). 16 files: two groups.
"$GEN" --out arch16 --files 16 --size 1M --seed 32 --quiet >/dev/null
mkdir del
cp arch16/* del/
d16=(del/*)
a16=(arch16/*)
frozen "$WORK/del/" "rm '${d16[1]}' '${d16[12]}'" cap-pull --no-syslog -a t -e '' -r del -j 1 -w "$WORK/del.pcap" >/dev/null 2>del.err
if [ "$FROZEN" = yes ]; then
  check_eq "deleted: exit 1" 1 "$RC"
  check_match "deleted: the file not yet opened is named" "^cap-pull: ${d16[12]}: No such file or directory" "$(cat del.err)"
  check_eq "deleted: the one mapped is not" "" "$(grep -F "${d16[1]}" del.err || true)"
  reads_whole del.pcap && ok "deleted: the output reads to its end" || fail "deleted: $(cat tcpdump.err)"
  check_eq "deleted: every packet of the others, the mapped one's included" \
    "$(packets "${a16[@]:0:12}" "${a16[@]:13}" | md5sum)" "$(packets del.pcap | md5sum)"
else
  fail "deleted: the pull ended before it could be frozen"
fi

# --- A file cut short while it is walked: SIGBUS answered, the zeros
# never taken for packets; the file is read again as it now is, and named.
mkdir cut
ln "${files[@]}" cut/
victim=cut/$(basename "${files[2]}")
rm "$victim"
cp "${files[2]}" "$victim"
cut_at=$(($(stat -c %s "$victim") * 2 / 5 + 1001))
frozen "$WORK/cut/" "truncate -s $cut_at '$victim'" cap-pull --no-syslog -a t -e '' -r cut -j 1 -w "$WORK/cut.pcap" >cut.out 2>cut.err
reads_whole cut.pcap && ok "cut while walked: the output reads to its end" || fail "cut: $(cat tcpdump.err)"
check_eq "cut while walked: the record counts what is there" "$(tcpdump_count cut.pcap)" "$(field packets "$(cat cut.out)")"
if [ "$RC" = 1 ]; then
  check_match "cut while walked: the file is named" \
    "^cap-pull: $victim: cut short while being read: $cut_at bytes now, [0-9]+ when opened; read again" "$(cat cut.err)"
  check_eq "cut while walked: exactly the packets of the files as they now are" \
    "$(packets cut/* | md5sum)" "$(packets cut.pcap | md5sum)"
else
  # Frozen too late: the whole file was read (and kept) before the cut.
  check_eq "cut after the pull read it: exit 0" "0:" "$RC:$(cat cut.err)"
  check_eq "cut after the pull read it: every packet as it was" "$(packets "${files[@]}" | md5sum)" "$(packets cut.pcap | md5sum)"
  echo "note: the cut came after the walk (frozen: $FROZEN): the SIGBUS path was not taken this time"
fi

# --- An input cut short while a merge reads it: a merge to a pipe nobody
# reads yet waits to write with its first inputs open and mapped.
cp "${files[0]}" m0.pcap
m0_cut=$(($(stat -c %s m0.pcap) / 3 + 555))
cut_while_writing merged.pcap merge.err m0.pcap "$m0_cut" cap-merge --no-syslog -w - m0.pcap "${files[1]}"
check_eq "merge, input cut: exit 1" 1 "$RC"
check_match "merge, input cut: it is named" "^cap-merge: m0.pcap: cut short while being read: $m0_cut bytes now" "$(cat merge.err)"
reads_whole merged.pcap && ok "merge, input cut: the output reads to its end" || fail "merge: $(cat tcpdump.err)"
# What was copied before the cut stays: with a write-behind thread, up to
# two buffers of packets from past the cut point (read while they were
# still there). So: all of the other input and of the cut one as it now
# is, and nothing that was not in the inputs as they were.
packets merged.pcap >merged.lines
check_eq "merge, input cut: every packet of the cut one up to its cut" \
  "" "$(packets m0.pcap "${files[1]}" | LC_ALL=C comm -23 - merged.lines)"
check_eq "merge, input cut: nothing the inputs did not hold" \
  "" "$(packets "${files[0]}" "${files[1]}" | LC_ALL=C comm -13 - merged.lines)"

# --- A pull whose matches outgrew what it copies while walking (16 MiB)
# writes the rest from the mapping, after the walk: a file cut then.
"$GEN" --out two --files 2 --size 12M --seed 33 --quiet >/dev/null
two=(two/*)
mkdir late
ln "${two[0]}" late/
cp "${two[1]}" late/
p1=late/$(basename "${two[1]}")
p1_cut=$(($(stat -c %s "$p1") * 4 / 5 + 77))
# By then it has walked both files and writes the first one's packets.
cut_while_writing late.pcap late.err "$p1" "$p1_cut" cap-pull --no-syslog -a t -e '' -r late -j 1 -w -
check_eq "pull, cut while written: exit 1" 1 "$RC"
check_match "pull, cut while written: named" "^cap-pull: $p1: cut short while being read: $p1_cut bytes now" "$(cat late.err)"
reads_whole late.pcap && ok "pull, cut while written: the output reads to its end" || fail "late: $(cat tcpdump.err)"
packets late.pcap >got
packets "${two[@]}" >was
check_eq "pull, cut while written: no packet that was not in the archive" 0 "$(comm -23 got was | wc -l)"
check_eq "pull, cut while written: every packet of the other file" 0 "$(comm -13 got <(packets "${two[0]}") | wc -l)"
check_eq "pull, cut while written: every packet of the cut file before its cut" 0 \
  "$(comm -13 got <(packets "$p1") | wc -l)"

finish
