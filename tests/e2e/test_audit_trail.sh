#!/usr/bin/env bash
# The audit trail, with a real syslog receiver (syslog_lib.sh): every action
# of every tool that acts leaves exactly one line naming who, what, which
# files and the outcome (merge, hash, check, pull, a crash found by cap-ls,
# a stop; test_live_syslog.sh does cap-start's), and a refused pull, merge,
# hash or stop one line "refused". cap-info only reads and logs nothing.
# Then no action goes unlogged silently: with the socket gone,
# or there but not writable by the user, or no /dev/log at all, each tool
# says on stderr that a line was not logged, quoting the first at once and
# counting them all at the end, and exits as it would have (DESIGN.md:
# "a failure to log is said on stderr"; the action itself was done).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/syslog_lib.sh"
fakes=()
trap 'stop_syslog; for p in "${fakes[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
start_syslog
chmod 755 "$WORK"
export CAPTURE_DIR=$WORK/spool
mkdir -p "$CAPTURE_DIR" "$WORK/archive" "$WORK/data"
seeds=$CAPTURE_SOURCE/tests/fuzz/seeds/fuzz_capture_reader
cp "$seeds/le_ns.pcap" "$WORK/data/a.pcap"
cp "$seeds/be_ns.pcap" "$WORK/data/b.pcap"
printf 'not a capture\n' >"$WORK/data/junk.pcap"
chmod 644 "$WORK"/data/*
chmod 755 "$WORK/data"
cp "$WORK/data/a.pcap" "$WORK/archive/daemonlogger.pcap.1700000000"
a=$WORK/data/a.pcap
b=$WORK/data/b.pcap

# fake_running ID: a process that plays a running capture: its record says
# running with its pid and start time, and on SIGTERM it writes its final
# record, as a capture does.
fake_running() {
  local rec="$CAPTURE_DIR/fay_$1.pcap.record" pid pstart
  bash -c 'trap "printf \"id=%s\tkind=live\tstate=stopped\tanalyst=fay\tfile=%s\n\" \"$1\" \"$2\" >\"$2.record.new\" && mv \"$2.record.new\" \"$2.record\"; exit 0" TERM
           while :; do sleep 0.05; done' _ "$1" "${rec%.record}" </dev/null >/dev/null 2>&1 &
  pid=$!
  fakes+=("$pid")
  pstart=$(awk '{sub(/.*\) /, ""); print $20}' "/proc/$pid/stat")
  printf 'id=%s\tkind=live\tstate=running\tanalyst=fay\tfile=%s\tstarted=2026-01-01T00:00:00Z\tpid=%s\tpstart=%s\n' \
    "$1" "${rec%.record}" "$pid" "$pstart" >"$rec"
}

# fake_crashed ID: a record that says running, of a process that is gone.
fake_crashed() {
  local pid
  sleep 0 &
  pid=$!
  wait "$pid"
  printf 'id=%s\tkind=live\tstate=running\tanalyst=dan\tfile=%s/dan_%s.pcap\tstarted=2026-01-01T00:00:00Z\tpid=%s\tpstart=1\n' \
    "$1" "$CAPTURE_DIR" "$1" "$pid" >"$CAPTURE_DIR/dan_$1.pcap.record"
}

# logged WHAT EXPECTED-LINES PATTERN -- COMMAND...: runs COMMAND; checks that
# exactly EXPECTED-LINES new audit lines arrived, all matching PATTERN.
logged() {
  local what=$1 want=$2 pattern=$3 before after
  shift 4
  before=$(syslog_count .)
  run_tool "$@"
  after=$(syslog_count . $((before + want)))
  sleep 0.1  # a line too many would arrive within this
  after=$(syslog_count .)
  check_eq "$what: $want audit line(s)" "$want" $((after - before))
  if [ "$want" -gt 0 ]; then
    check_eq "$what: each saying what it should" "$want" \
      "$(tail -n "$want" "$SYSLOG_FILE" | grep -acE -- "$pattern" || true)"
  fi
}

user=$(id -un)
logged "cap-merge" 1 "cap-merge\[[0-9]+\]: action=merge outcome=ok user=$user analyst=ann file=$CAPTURE_DIR/ann_" \
  -- cap-merge -a ann "$a" "$b"
logged "cap-merge, one input broken" 1 "action=merge outcome=partial .*failed_inputs=1" \
  -- cap-merge -a ann "$a" "$WORK/data/junk.pcap"
logged "cap-merge, nothing readable" 1 "action=merge outcome=failed .*error=\"no readable input\"" \
  -- cap-merge -a ann "$WORK/data/junk.pcap"
logged "cap-hash, two files" 2 "cap-hash\[[0-9]+\]: action=hash outcome=ok user=$user file=$WORK/data/[ab].pcap sha256=[0-9a-f]{64}" \
  -- cap-hash "$a" "$b"
logged "cap-hash, a missing file" 1 "action=hash outcome=failed .*file=$WORK/data/missing.pcap error=" \
  -- cap-hash "$WORK/data/missing.pcap"
logged "cap-hash, a record with an analyst: the analyst too" 1 \
  "action=hash outcome=ok user=$user (sudo_user=[^ ]+ )?analyst=ann file=$a sha256=[0-9a-f]{64}" \
  -- bash -c "printf 'analyst=ann\tfile=%s\n' '$a' | cap-hash"
logged "cap-hash --sidecar" 1 "action=hash outcome=ok .*sidecar=$a.sha256" -- cap-hash --sidecar "$a"
logged "cap-hash --check" 1 "action=check outcome=ok .*file=$a sha256=" -- cap-hash --check "$a.sha256"
printf '%064d  %s\n' 0 "$b" "$(printf %064d 0)" "$WORK/data/gone.pcap" >"$WORK/bad.sums"
logged "cap-hash --check, a mismatch and a missing file" 2 "action=check outcome=(failed .*computed=|missing .*error=)" \
  -- cap-hash --check "$WORK/bad.sums"
logged "cap-pull: its start and its end" 2 "cap-pull\[[0-9]+\]: action=pull outcome=(started|ok) user=$user id=[a-z2-9]{6} analyst=ann file=$CAPTURE_DIR/ann_" \
  -- cap-pull -r "$WORK/archive" -e '' -a ann
# A refused pull or merge (a bad expression, bad options found after the
# command line is parsed) is one line, "refused", with what was asked and
# libpcap's or our reason; a dry run, refused or not, logs nothing; a
# mistake found while parsing the command line is not logged (the
# configuration that says where syslog is has not been read).
logged "cap-pull, a bad expression: refused" 1 \
  "cap-pull\[[0-9]+\]: action=pull outcome=refused user=$user analyst=ann expr=\"host 10.0.0.7 and\" archives=$WORK/archive reason=\"can't parse filter expression: syntax error\"$" \
  -- cap-pull -r "$WORK/archive" -e 'host 10.0.0.7 and' -a ann
check_eq "cap-pull, a bad expression: exit 2" 2 "$RC"
logged "cap-pull, a bad --format: refused" 1 "action=pull outcome=refused .*analyst=ann expr=tcp .*reason=\"--format: 'pcapx' is not pcap or pcapng\"" \
  -- cap-pull -r "$WORK/archive" -e tcp -a ann -F pcapx
logged "cap-pull, no archive: refused" 1 "action=pull outcome=refused .*expr=tcp reason=\"no archive to pull from" \
  -- env CAPTURE_CONF=/dev/null cap-pull -e tcp -a ann
logged "cap-pull, a capture directory that cannot be made: failed" 1 \
  "action=pull outcome=failed .*analyst=ann expr=tcp .*reason=\"$WORK/data/a.pcap/sub" \
  -- cap-pull -r "$WORK/archive" -e tcp -a ann --dir "$WORK/data/a.pcap/sub"
check_eq "cap-pull, a capture directory that cannot be made: exit 1" 1 "$RC"
logged "cap-pull -n, a bad expression: nothing logged" 0 "" -- cap-pull -n -r "$WORK/archive" -e 'host and' -a ann
logged "cap-pull, an unknown option: nothing logged" 0 "" -- cap-pull --no-such-option -r "$WORK/archive" -e tcp
logged "cap-merge, a bad --max-open: refused" 1 \
  "cap-merge\[[0-9]+\]: action=merge outcome=refused user=$user analyst=ann reason=\"--max-open: 1 is not between 2 and 65536\"" \
  -- cap-merge -a ann --max-open 1 "$a" "$b"
check_eq "cap-merge, a bad --max-open: exit 2" 2 "$RC"
logged "cap-merge, a bad --format: refused" 1 "action=merge outcome=refused .*reason=\"--format: 'x' is neither pcap nor pcapng\"" \
  -- cap-merge -a ann -F x "$a" "$b"
logged "cap-merge, an empty --write: refused" 1 "action=merge outcome=refused user=$user analyst=ann file=\"\" reason=\"--write: empty name\"" \
  -- cap-merge -a ann -w '' "$a" "$b"
logged "cap-merge, an output that cannot be made: failed, once" 1 "action=merge outcome=failed .*analyst=ann " \
  -- cap-merge -a ann -w "$WORK/data/a.pcap/out.pcap" "$a" "$b"

fake_crashed crashd
logged "cap-ls: a crash found" 1 "cap-ls\[[0-9]+\]: action=dead outcome=dead .*id=crashd analyst=dan" -- cap-ls --all
logged "cap-ls: the same crash found again" 0 "" -- cap-ls --all
fake_running fakeid
logged "cap-stop" 1 "cap-stop\[[0-9]+\]: action=stop outcome=ok user=$user id=fakeid state=stopped analyst=fay" \
  -- cap-stop --wait 10 fakeid
logged "cap-stop, a bad --wait: refused" 1 \
  "cap-stop\[[0-9]+\]: action=stop outcome=refused user=$user reason=\"--wait: between 0 and 3600 seconds\"" -- cap-stop --wait 0 fakeid
check_eq "cap-stop, a bad --wait: exit 2" 2 "$RC"
logged "cap-hash, --quiet without --check: refused" 1 \
  "cap-hash\[[0-9]+\]: action=hash outcome=refused user=$user reason=\"--quiet only applies to --check\"" -- cap-hash --quiet "$a"
check_eq "cap-hash, --quiet without --check: exit 2" 2 "$RC"
logged "cap-info only reads" 0 "" -- cap-info "$a" "$b"

# No action unlogged silently: the socket gone.
gone=$WORK/nowhere.sock
# check_unlogged WHAT RC COUNT TOOL ARGS...: with the socket gone, TOOL exits
# RC as it would have, says the first line it could not log at once, whole,
# and, when COUNT lines were lost, the count once at the end.
check_unlogged() {
  local what=$1 want_rc=$2 count=$3 summary
  shift 3
  run_tool env CAPTURE_SYSLOG_SOCKET="$gone" "$@"
  check_eq "$what, socket gone: the exit status of the action" "$want_rc" "$RC"
  check_eq "$what, socket gone: the first line not logged is said, once" 1 \
    "$(grep -c "^$1: syslog: $gone: No such file or directory (not logged: action=" <<<"$ERR" || true)"
  summary=$(grep -c "^$1: syslog: $gone: No such file or directory ($count audit lines not logged)\$" <<<"$ERR" || true)
  if [ "$count" -gt 1 ]; then
    check_eq "$what, socket gone: the count said at the end" "1 $1: syslog: $gone: No such file or directory ($count audit lines not logged)" \
      "$summary ${ERR##*$'\n'}"
  else
    check_eq "$what, socket gone: one line lost, no count to add" 0 "$(grep -c 'audit lines not logged' <<<"$ERR" || true)"
  fi
}
check_unlogged cap-merge 0 1 cap-merge -a ann "$a" "$b"
check_unlogged cap-merge 1 1 cap-merge -a ann "$WORK/data/junk.pcap"
check_unlogged cap-hash 0 2 cap-hash "$a" "$b"
check_unlogged cap-hash 0 1 cap-hash --check "$a.sha256"
check_unlogged cap-pull 0 2 cap-pull -r "$WORK/archive" -e '' -a ann
fake_crashed crashe
check_unlogged cap-ls 0 1 cap-ls --all
fake_running fakeed
check_unlogged cap-stop 0 1 cap-stop --wait 10 fakeed
check_unlogged cap-pull 2 1 cap-pull -r "$WORK/archive" -e 'host and' -a ann

# No syslog daemon at all, as in a fresh container: no /dev/log (made so in a
# private mount namespace, a tmpfs over /dev, when this machine has one). A
# tool acting on many files says it once with the reason, and the count at
# the end, not once per file; every file is still hashed.
mkdir "$WORK/many"
for i in $(seq -w 32); do cp "$a" "$WORK/many/f$i.pcap"; done
# without_dev_log COMMAND...: runs COMMAND, audit on, at syslog's default socket, where /dev/log is absent.
without_dev_log() {
  if [ ! -e /dev/log ]; then
    env -u CAPTURE_SYSLOG_SOCKET CAPTURE_SYSLOG=on "$@"
  else
    unshare -m env -u CAPTURE_SYSLOG_SOCKET CAPTURE_SYSLOG=on bash -c '
      set -e
      mount --make-rprivate /
      old=$1 && shift && mkdir -p "$old" && mount --bind /dev "$old"
      mount -t tmpfs tmpfs /dev
      for n in null zero full random urandom; do touch "/dev/$n" && mount --bind "$old/$n" "/dev/$n"; done
      exec "$@"' _ "$WORK/olddev" "$@"
  fi
}
if [ ! -e /dev/log ] || { [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; }; then
  run_tool without_dev_log cap-hash "$WORK"/many/*.pcap
  check_eq "no /dev/log: every file hashed, exit 0" "0 32" "$RC $(grep -c '^file=' <<<"$OUT" || true)"
  check_eq "no /dev/log: two lines on stderr, not 32" 2 "$(wc -l <<<"$ERR")"
  check_match "no /dev/log: the first line lost, said at once with the reason" \
    "^cap-hash: syslog: /dev/log: No such file or directory \(not logged: action=hash outcome=ok user=$user file=$WORK/many/f01.pcap sha256=" "${ERR%%$'\n'*}"
  check_eq "no /dev/log: the count at the end" \
    "cap-hash: syslog: /dev/log: No such file or directory (32 audit lines not logged)" "${ERR##*$'\n'}"
  run_tool without_dev_log cap-hash --check "$a.sha256"
  check_eq "no /dev/log: one line lost is said whole, with no count" \
    "0 1" "$RC $(grep -c '^cap-hash: syslog: /dev/log: No such file or directory (not logged: action=check outcome=ok ' <<<"$ERR")"
  check_eq "no /dev/log: and nothing more" 1 "$(wc -l <<<"$ERR")"
else
  echo "note: /dev/log exists and no private mount namespace can be made: the default socket is not checked"
fi

run_tool env CAPTURE_SYSLOG_SOCKET="$gone" cap-info "$a"
check_eq "cap-info, socket gone: nothing to log, nothing said" "0 " "$RC $ERR"
run_tool env CAPTURE_SYSLOG=off CAPTURE_SYSLOG_SOCKET="$gone" cap-hash "$a"
check_eq "syslog turned off: nothing said" "0 " "$RC $ERR"

# The socket there, but not writable by the user (root could write anyway).
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  chmod 600 "$SYSLOG_SOCKET"
  before=$(syslog_count .)
  run_tool setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups cap-hash "$a"
  check_eq "socket not writable: cap-hash still hashes" 0 "$RC"
  check_match "socket not writable: and says the line was not logged" \
    "^cap-hash: syslog: $SYSLOG_SOCKET: Permission denied \(not logged: action=hash outcome=ok user=nobody file=$a " "$ERR"
  check_eq "socket not writable: nothing reached the log" "$before" "$(syslog_count .)"
  chmod 666 "$SYSLOG_SOCKET"
else
  echo "note: not root (or no setpriv): the unwritable socket is not checked"
fi

finish
