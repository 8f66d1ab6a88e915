#!/usr/bin/env bash
# The README's first command, .ci/demo, as a new user runs it: it must exit 0
# and end in its "Done" line, every time (issue 13: under pipefail a
# `tcpdump | head` killed it with tcpdump's write error, almost every run).
# It runs twice in a row, on the tools already built (CAPTURE_DEMO_BIN: no
# install, no build), and each run leaves its work folder named in the
# "Done" line, which is removed here.
source "$(dirname "$0")/lib.sh"
need_generator
need_cmd tcpdump
unset TZ  # the demo's own environment, as a user has it
demo_dirs=()
trap 'rm -rf "$WORK" "${demo_dirs[@]}"' EXIT
for run in 1 2; do
  run_tool env CAPTURE_DEMO_BIN="$CAPTURE_BIN" bash "$CAPTURE_SOURCE/.ci/demo"
  check_eq "run $run: exit 0" 0 "$RC"
  last=${OUT##*$'\n'}
  check_match "run $run: the last line is the Done line" '^Done\. The archive and the pull stay in /tmp/capture-demo\.[A-Za-z0-9]+ for you to explore\.$' "$last"
  dir=${last#Done. The archive and the pull stay in }
  dir=${dir% for you to explore.}
  [[ "$dir" == /tmp/capture-demo.* ]] && demo_dirs+=("$dir")
  check_eq "run $run: no tool complained" 0 "$(grep -c '^cap-' <<<"$ERR" || true)"
  check_eq "run $run: tcpdump's first three packets are shown" 3 \
    "$(awk '/^== the same packets/ { on = 1; next } on && /^$/ { exit } on && /^   [0-9][0-9]:/ { n++ } END { print n + 0 }' <<<"$OUT")"
  check_match "run $run: the pull's sidecar checks" ': OK$' "$OUT"
done
finish
