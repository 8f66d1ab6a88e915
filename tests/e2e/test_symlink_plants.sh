#!/usr/bin/env bash
# Symbolic links planted in the capture directory at every name a tool will
# create next (the capture file, its record, the hidden temporaries whose
# names can be known, sidecars), pointing at files of a fake /etc and at a
# copy of the real /etc/passwd, and regular files planted at the final
# names: cap-merge, cap-pull and cap-hash --sidecar never write through a
# link and never clobber a file; every target keeps its content and its
# mtime. (test_live_privileges.sh does the same for cap-start.) Targets are
# files of our own, never the real /etc. And what they make is 0640 in a
# directory of 0750, even under umask 000.
source "$(dirname "$0")/lib.sh"
export CAPTURE_DIR=$WORK/spool
good=$CAPTURE_SOURCE/tests/fuzz/seeds/fuzz_capture_reader/le_ns.pcap
mkdir -p "$CAPTURE_DIR" "$WORK/fake-etc" "$WORK/etc-copy" "$WORK/archive"
cp "$good" "$WORK/archive/daemonlogger.pcap.1700000000"
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$WORK/fake-etc/passwd"
printf 'root ALL=(ALL) ALL\n' >"$WORK/fake-etc/sudoers"
cp /etc/passwd "$WORK/etc-copy/passwd"
touch -d '2001-02-03 04:05:06' "$WORK"/fake-etc/* "$WORK"/etc-copy/*
targets=("$WORK/fake-etc/passwd" "$WORK/fake-etc/sudoers" "$WORK/etc-copy/passwd")
for t in "${targets[@]}"; do cp -p "$t" "$t.orig"; done
n_link=0

# plant NAME...: a symbolic link at each name, to the targets in turn.
plant() {
  local name
  for name in "$@"; do
    ln -sfn "${targets[$((n_link % ${#targets[@]}))]}" "$name"
    n_link=$((n_link + 1))
  done
}

# names_for ANALYST DESC KIND: the names the convention gives over the next
# few seconds (DESC and "DESC 2").
names_for() {
  local t d stamp
  for ((t = $(date +%s); t <= $(date +%s) + 4; t++)); do
    stamp=$(date -u -d "@$t" +%a.%b%d.%Y-%H.%M.%S.UTC)
    for d in "$2" "$2.2"; do echo "$CAPTURE_DIR/$1_${d}_${stamp}_${t}_$3"; done
  done
}

# targets_untouched WHAT: every target has its content and its mtime.
targets_untouched() {
  local t bad=""
  for t in "${targets[@]}"; do
    cmp -s "$t" "$t.orig" || bad+=" $t (content)"
    [ "$(stat -c %Y "$t")" = "$(stat -c %Y "$t.orig")" ] || bad+=" $t (mtime)"
  done
  check_eq "$1: nothing outside the capture directory was touched" "" "$bad"
}

# cap-merge: links at its output names, and a real file at one of them.
mapfile -t names < <(names_for ann plant .merged.pcap)
plant "${names[@]}"
# (At every name of the next seconds: the clock may tick before cap-merge reads it.)
mapfile -t kept < <(names_for ann kept .merged.pcap | grep -v '_kept\.2_')
for k in "${kept[@]}"; do printf 'an older capture\n' >"$k"; done
run_tool cap-merge --records -a ann -d plant "$good"
check_eq "cap-merge: done despite the links" 0 "$RC"
out=$(field file "$OUT")
[ -f "$out" ] && [ ! -L "$out" ] && ok "cap-merge: its output is a regular file of its own" || fail "cap-merge: output $out"
check_match "cap-merge: under the next free name" '_plant\.3_' "$out"
targets_untouched "cap-merge"
run_tool cap-merge --records -a ann -d kept "$good"
check_eq "cap-merge: the older captures are not clobbered" "${#kept[@]}" "$(cat "${kept[@]}" | grep -c '^an older capture$')"
check_match "cap-merge: the new one takes the next name" '_kept\.2_' "$(field file "$OUT")"

# cap-pull: links at its output names; then links at its records and at the
# temporaries of its record, whose names hold its pid (known: exec keeps it).
mapfile -t names < <(names_for bob plant .past.pcap)
plant "${names[@]}"
run_tool cap-pull --records -r "$WORK/archive" -e "" -a bob -d plant
check_eq "cap-pull: done despite the links" 0 "$RC"
out=$(field file "$OUT")
[ -f "$out" ] && [ ! -L "$out" ] && ok "cap-pull: its output is a regular file of its own" || fail "cap-pull: output $out"
check_match "cap-pull: under the next free name" '_plant\.3_' "$out"
targets_untouched "cap-pull"
mapfile -t names < <(names_for bob record .past.pcap)
for n in "${names[@]}"; do plant "$n.record"; done
run_tool bash -c '
  for n in "$@"; do
    for i in 0 1 2 3 4 5 6 7 8 9; do ln -s "'"${targets[0]}"'" "$(dirname "$n")/.$(basename "$n").record.$BASHPID.$i.tmp"; done
  done
  exec cap-pull --records -r "'"$WORK/archive"'" -e "" -a bob -d record' _ "${names[@]}"
check_eq "cap-pull: done despite the links at its record" 0 "$RC"
out=$(field file "$OUT")
check_match "cap-pull: under its own name" '_record_' "$out"
[ -f "$out.record" ] && [ ! -L "$out.record" ] && ok "cap-pull: its record too" || fail "cap-pull: record $out.record"
check_eq "cap-pull: the record is its own" done "$(field state "$(cat "$out.record")")"
targets_untouched "cap-pull"
check_eq "cap-pull: no temporary left behind" "" "$(find "$CAPTURE_DIR" -name '.*' -type f)"

# cap-hash --sidecar: a link at the sidecar and at its temporaries.
cp "$good" "$CAPTURE_DIR/x.pcap"
plant "$CAPTURE_DIR/x.pcap.sha256"
run_tool bash -c '
  for i in 0 1 2 3 4 5 6 7 8 9; do ln -s "'"${targets[1]}"'" "'"$CAPTURE_DIR"'/.x.pcap.sha256.tmp$BASHPID.$i"; done
  exec cap-hash --sidecar "'"$CAPTURE_DIR"'/x.pcap"'
check_eq "cap-hash --sidecar: done despite the links" 0 "$RC"
[ -f "$CAPTURE_DIR/x.pcap.sha256" ] && [ ! -L "$CAPTURE_DIR/x.pcap.sha256" ] && ok "cap-hash: the sidecar replaced the link" ||
  fail "cap-hash: the sidecar is still a link"
check_eq "cap-hash: the sidecar checks" "x.pcap: OK" "$(cd "$CAPTURE_DIR" && sha256sum -c x.pcap.sha256)"
targets_untouched "cap-hash --sidecar"

# Modes, under umask 000: directories 0750, captures and records 0640.
(
  umask 000
  cap-merge --dir "$WORK/m-spool" -a ann -d modes "$good" >/dev/null
  cap-pull --dir "$WORK/p-spool" -r "$WORK/archive" -e "" -a ann -d modes >/dev/null
)
check_eq "cap-merge makes its directory 0750" 750 "$(stat -c %a "$WORK/m-spool")"
check_eq "and its capture 0640" 640 "$(stat -c %a "$WORK"/m-spool/*.pcap)"
# As root, as cap-start makes it (root and the capture group, 2770).
if [ "$(id -u)" = 0 ]; then
  check_eq "cap-pull as root makes its directory as cap-start does: 2770" 2770 "$(stat -c %a "$WORK/p-spool")"
else
  check_eq "cap-pull makes its directory 0750" 750 "$(stat -c %a "$WORK/p-spool")"
fi
check_eq "and its capture and record 0640" "640 640" "$(stat -c %a "$WORK"/p-spool/*.pcap "$WORK"/p-spool/*.record | tr '\n' ' ' | sed 's/ $//')"

finish
