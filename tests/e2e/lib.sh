# Shared helpers for the end-to-end tests. Source it; it sets -eu.
#
# Environment (set by ctest): CAPTURE_BIN (build dir holding the tools),
# CAPTURE_SOURCE, CAPTURE_CORPUS. Exit 77 means "skipped" to ctest.
set -euo pipefail
: "${CAPTURE_BIN:?run through ctest (CAPTURE_BIN unset)}"
: "${CAPTURE_SOURCE:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${CAPTURE_CORPUS:=$CAPTURE_SOURCE/../shared/corpus}"
export PATH="$CAPTURE_BIN:$PATH"
# No test depends on the machine's syslog unless it sets up its own listener.
export CAPTURE_SYSLOG=off
unset CAPTURE_DIR CAPTURE_CONF CAPTURE_SYSLOG_SOCKET
# The tools run as plain root (or the plain user): root with SUDO_USER set
# is a tool under sudo, with the caller's choices limited (test_sudo.sh).
unset SUDO_USER SUDO_UID SUDO_GID SUDO_COMMAND

WORK=$(mktemp -d "${TMPDIR:-/tmp}/capture-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILS=0
CHECKS=0

skip() { echo "SKIP: $*"; exit 77; }
need_corpus() { [ -d "$CAPTURE_CORPUS/tcpdump" ] || skip "corpus absent at $CAPTURE_CORPUS"; }
need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || skip "needs $1"; }

ok() { CHECKS=$((CHECKS + 1)); echo "ok: $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
# check_match WHAT REGEX TEXT
check_match() {
  # A here-string, not a pipe: under pipefail grep -q's early exit could fail the writer.
  if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else fail "$1: [$3] does not match /$2/"; fi
}

# run_tool: runs "$@", capturing stdout in $OUT, stderr in $ERR, status in $RC.
run_tool() {
  set +e
  OUT=$("$@" 2>"$WORK/.stderr")
  RC=$?
  set -e
  ERR=$(cat "$WORK/.stderr")
}

# field KEY RECORD-LINE: the value of KEY in a record line (unescaped enough for tests).
field() { printf '%s\n' "$2" | tr '\t' '\n' | awk -v k="$1=" 'index($0, k) == 1 && !done { print substr($0, length(k) + 1); done = 1 }'; }

# need_generator: GEN, the generator of synthetic archives (bench's
# make_archive); its names are in UTC, so TZ is too.
need_generator() {
  GEN=$CAPTURE_BIN/bench/make_archive
  [ -x "$GEN" ] || skip "no $GEN (build the bench targets)"
  export TZ=UTC
}

# tcpdump_count FILE: the packets tcpdump reads in FILE (up to a problem).
tcpdump_count() { { tcpdump -nn -r "$1" 2>/dev/null || true; } | wc -l | tr -d ' '; }
# reads_whole FILE: true when tcpdump reads FILE to its end without a
# complaint (a packet cut short is one); the complaint is in $WORK/tcpdump.err.
reads_whole() { tcpdump -nn -r "$1" -w /dev/null 2>"$WORK/tcpdump.err" && ! grep -qi truncated "$WORK/tcpdump.err"; }

# wait_for_file DIR PATTERN: the first file of DIR whose name matches
# PATTERN (find -name), once there; waited for in 5 ms steps, at most
# 4000 of them; nothing when none came.
wait_for_file() {
  local f _
  for _ in $(seq 4000); do
    f=$(find "$1" -maxdepth 1 -name "$2" -print -quit 2>/dev/null || true)
    if [ -n "$f" ]; then echo "$f"; return; fi
    sleep 0.005
  done
}

finish() {
  echo "$CHECKS checks, $FAILS failed"
  [ "$FAILS" = 0 ]
}
