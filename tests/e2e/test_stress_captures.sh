#!/usr/bin/env bash
# Stress: 8 shells at once each start, list and stop 25 captures on lo in a
# loop (200 in all) while traffic flows to them. At the end every record is
# whole (parseable, a final state, its counts what its file holds), none is
# lost (200), no capture process is left, and no id or file is shared.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"

SHELLS=${CAPTURE_STRESS_SHELLS:-8}
PER=${CAPTURE_STRESS_PER_SHELL:-25}
TOTAL=$((SHELLS * PER))
port=$(free_port 7)

( while :; do printf 'stress %s\n' "$RANDOM" >"/dev/udp/127.0.0.1/$port"; sleep 0.002; done ) 2>/dev/null &
sender=$!
trap 'kill "$sender" 2>/dev/null || true; cleanup_live' EXIT

# One analyst's shell: start, see it listed, stop, again; what goes wrong
# goes to its error file.
analyst_loop() {
  local s=$1 i out id
  for ((i = 1; i <= PER; i++)); do
    if ! out=$(cap-start --no-syslog -a "stress$s" -d "round $i" -e "udp and dst port $port" -i lo -B 1M); then
      echo "stress$s round $i: cap-start failed" >&2
      continue
    fi
    id=$(field id "$out")
    echo "$id" >>"$WORK/ids.$s"
    cap-ls --records >/dev/null || echo "stress$s round $i: cap-ls failed" >&2
    grep -q "^id=$id	" <<<"$(cap-ls -f "stress$s" --records)" || echo "stress$s round $i: $id is not listed as running" >&2
    cap-stop --no-syslog --wait 20 "$id" >/dev/null || echo "stress$s round $i: cap-stop $id failed" >&2
  done
}

started=$SECONDS
pids=()
for s in $(seq 1 "$SHELLS"); do
  analyst_loop "$s" 2>"$WORK/err.$s" &
  pids+=($!)
done
wait "${pids[@]}"
kill "$sender" 2>/dev/null || true
echo "$TOTAL captures started, listed and stopped by $SHELLS shells in $((SECONDS - started)) s"

check_eq "no shell saw an error" "" "$(cat "$WORK"/err.*)"
check_eq "$TOTAL ids, all distinct" "$TOTAL" "$(cat "$WORK"/ids.* | sort -u | wc -l | tr -d ' ')"
# A capture writes its final record just before it exits: give the last
# ones a moment (bounded) to be gone.
for _ in $(seq 50); do pgrep -f "cap-start --no-syslog -a stress" >/dev/null || break; sleep 0.1; done
check_eq "no capture process is left" "" "$(pgrep -af "cap-start --no-syslog -a stress" || true)"
check_eq "nothing is listed as running" "" "$(cap-ls)"

records=$(cap-ls --all --records 2>"$WORK/ls.err")
check_eq "every record reads" "" "$(cat "$WORK/ls.err")"
check_eq "no record lost: $TOTAL" "$TOTAL" "$(grep -c . <<<"$records")"
check_eq "$TOTAL record files" "$TOTAL" "$(ls "$CAPTURE_DIR" | grep -c '\.record$')"
check_eq "every record in its final state" "$TOTAL" "$(grep -c $'\tstate=stopped\t' <<<"$records")"
check_eq "no id shared" "$TOTAL" "$(cut -f1 <<<"$records" | sort -u | wc -l | tr -d ' ')"
files=$(while IFS= read -r r; do field file "$r"; done <<<"$records")
check_eq "no file shared" "$TOTAL" "$(sort -u <<<"$files" | wc -l | tr -d ' ')"
check_eq "every id is one of those started" "" "$(comm -13 <(cat "$WORK"/ids.* | sort) <(cut -f1 <<<"$records" | sed 's/^id=//' | sort))"
bad=0
with_packets=0
while IFS= read -r r; do
  file=$(field file "$r")
  n=$(pcap_count "$file")
  [ "$n" -gt 0 ] && with_packets=$((with_packets + 1))
  if [ "$(field packets "$r")" != "$n" ] || [ "$(field bytes "$r")" != "$(stat -c %s "$file")" ]; then
    fail "$file: the record says $(field packets "$r") packets, $(field bytes "$r") bytes; the file holds $n, $(stat -c %s "$file")"
    bad=1
  fi
done <<<"$records"
[ "$bad" = 0 ] && ok "every record counts what its file holds ($with_packets of them with packets)"
check_eq "no temporary file is left" "" "$(ls -A "$CAPTURE_DIR" | grep '^\.' || true)"

finish
