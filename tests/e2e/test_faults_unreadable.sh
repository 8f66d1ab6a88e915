#!/usr/bin/env bash
# The capture directory made unreadable (chmod 000) under a running pull
# and a running live capture: each says so, and nothing that was done is
# lost: once the directory is usable again, cap-ls finds them dead and
# makes their files whole, counted exactly. Root does not feel a chmod, so
# as root the pull runs as nobody (setpriv) and the live capture as its
# capture user, as it always does; as another user, the pull runs as that
# user and the live part is skipped.
source "$(dirname "$0")/lib.sh"
need_cmd tcpdump
need_cmd python3
need_generator
here=$CAPTURE_SOURCE/tests/e2e
chmod 755 "$WORK"
cd "$WORK"

as_user=()
if [ "$(id -u)" = 0 ]; then
  need_cmd setpriv
  id nobody >/dev/null 2>&1 || skip "no user nobody"
  as_user=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --)
fi

"$GEN" --out arch --files 8 --size 4M --seed 51 --quiet >/dev/null
chmod -R a+rX arch
want=$(cap-pull --no-syslog -a u -e 'tcp' -r arch -j 1 -w - 2>/dev/null | tcpdump -nn -r - 2>/dev/null | wc -l | tr -d ' ')

# --- A pull whose capture directory becomes unreadable while it walks.
mkdir caps
[ "$(id -u)" = 0 ] && chown nobody "$WORK/caps"
set +e
python3 "$here/freeze_when_mapped.py" "$WORK/.frozen" "$WORK/arch/" 8 "chmod 000 '$WORK/caps'" -- \
  "${as_user[@]}" "$CAPTURE_BIN/cap-pull" --no-syslog -a u -d unreadable -e tcp -r "$WORK/arch" -j 1 --dir "$WORK/caps" \
  >pull.out 2>pull.err
RC=$?
set -e
check_eq "the pull was frozen while it walked, and the directory made unreadable" frozen "$(cat .frozen)"
check_eq "the pull exits 1" 1 "$RC"
check_match "and says why" "^cap-pull: $WORK/caps/u_unreadable_.*\.past\.pcap: Permission denied" "$(cat pull.err)"
check_match "and where what it pulled is" "what was pulled stays in $WORK/caps/\.u_unreadable_.*\.tmp; cap-ls publishes it" "$(cat pull.err)"
run_tool "${as_user[@]}" "$CAPTURE_BIN/cap-ls" --no-syslog --dir "$WORK/caps" --all
check_eq "cap-ls on the unreadable directory: exit 1" 1 "$RC"
check_eq "and says so" "cap-ls: $WORK/caps: Permission denied" "$ERR"
chmod 750 caps
run_tool "${as_user[@]}" "$CAPTURE_BIN/cap-ls" --no-syslog --dir "$WORK/caps" --all --records
check_eq "usable again: cap-ls exits 0" "0:" "$RC:$ERR"
check_eq "the pull is dead" dead "$(field state "$OUT")"
file=$(field file "$OUT")
[ -f "$file" ] && [ ! -L "$file" ] && ok "its output is published under its name" || fail "no file at $file"
reads_whole "$file" && ok "it reads to its end" || fail "$(cat tcpdump.err)"
check_eq "nothing that was pulled is lost" "$want" "$(tcpdump_count "$file")"
check_eq "its record counts it" "$want" "$(field packets "$OUT")"
check_eq "no temporary is left" "" "$(ls -A caps | grep '^\.' || true)"

# --- A live capture whose directory becomes unreadable while it runs.
if [ "$(id -u)" = 0 ] && ip link show lo >/dev/null 2>&1; then
  source "$here/live_lib.sh"
  port=$(free_port 8)
  out=$(cap-start --no-syslog -a u -d unreadable -e "udp and dst port $port" -i lo)
  id=$(field id "$out")
  pid=$(field pid "$out")
  file=$(field file "$out")
  send_udp "$port" 5
  wait_until 10 rec_field_is "$id" packets 5 || fail "never counted 5: $(rec_of "$id")"
  chmod 000 "$CAPTURE_DIR"
  send_udp "$port" 7
  # Its record can no longer say so; its file, flushed each second, does.
  holds() { [ "$(pcap_count "$file")" = "$1" ]; }
  wait_until 10 holds 12 || fail "the 7 packets never reached the file"
  # cap-stop (root) still reads the records; the capture, as its user, can
  # no longer write its own.
  run_tool cap-stop --no-syslog --wait 5 "$id"
  check_eq "cap-stop: exit 1" 1 "$RC"
  check_match "and says the capture ended without its final record" "ended without writing its final record" "$ERR"
  if wait_until 10 proc_gone "$pid"; then ok "the capture has ended"; else fail "the capture still runs"; fi
  chmod 750 "$CAPTURE_DIR"
  rec=$(cap-ls --all --records | grep -P "^id=$id\t" || true)
  check_eq "usable again: cap-ls says it is dead" dead "$(field state "$rec")"
  reads_whole "$file" && ok "its file reads to its end" || fail "$(cat tcpdump.err)"
  check_eq "every packet is there, those after the chmod too" 12 "$(pcap_count "$file")"
  check_eq "and its record, made whole, counts them" "12:yes" "$(field packets "$rec"):$(field repaired "$rec")"
else
  echo "note: not root (or no lo): the live capture part was skipped"
fi

finish
