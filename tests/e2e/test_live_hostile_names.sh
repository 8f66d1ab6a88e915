#!/usr/bin/env bash
# cap-start (root, on lo) given analyst names and descriptions full of shell
# metacharacters, slashes, "..", leading dashes, newlines, escape sequences,
# bytes that are not UTF-8 and 100 kB of text: the capture file stays in the
# capture directory under a safe name, its record keeps the text exactly,
# and the start and end audit lines (a real receiver) carry it reversibly.
# An expression full of metacharacters is refused before anything exists,
# and the refusal is logged with the expression as typed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"
source "$(dirname "$0")/syslog_lib.sh"
export LC_ALL=C
trap 'stop_syslog; cleanup_live' EXIT
start_syslog
port=$(free_port 4)  # no traffic is sent or counted: any port will do
mkdir -p "$WORK/cwd"
cd "$WORK/cwd"

hostile=(
  '$(touch pwned)`touch pwned`;|&><*?[] ~!{}#'
  '-rf ../../../../etc/passwd'
  $'two\nlines \xff\xfe not utf-8 \xc2\x85\x1b[2J'
  "$(head -c 100000 /dev/zero | tr '\0' d)"
)
n=0
for v in "${hostile[@]}"; do
  n=$((n + 1))
  run_tool cap-start --analyst="$v" --description="$v" -e "udp and dst port $port" -i lo
  check_eq "value $n: started" 0 "$RC"
  id=$(record_value "$OUT" id)
  file=$(record_value "$OUT" file)
  check_eq "value $n: the file is in the capture directory" "$CAPTURE_DIR" "$(dirname "$file")"
  check_match "value $n: under a safe name" '^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$' "$(basename "$file")"
  same_bytes "value $n: the record file keeps the description" "$v" record_value "$(cat "$file.record")" desc
  same_bytes "value $n: and the analyst" "$v" record_value "$(cat "$file.record")" analyst
  run_tool cap-stop "$id"
  check_eq "value $n: stopped" 0 "$RC"
  for action in start end; do
    check_eq "value $n: one $action line" 1 "$(syslog_count "action=$action .*id=$id" 1)"
    line=$(syslog_lines "action=$action .*id=$id")
    if [ "${#v}" -gt 1024 ]; then
      check_match "value $n, $action: the analyst cut, saying how much" "analyst=\"${v:0:1024}\"\\+$((${#v} - 1024))" "$line"
    else
      same_bytes "value $n, $action: the analyst logged exactly" "$v" audit_value "$line" analyst
    fi
  done
done

files_before=$(ls -A "$CAPTURE_DIR")
for v in "${hostile[@]:0:3}"; do
  run_tool cap-start -a ann -e "$v" -i lo
  check_eq "a hostile expression is refused before anything starts" 2 "$RC"
done
check_eq "nothing made for it" "$files_before" "$(ls -A "$CAPTURE_DIR")"
line=$(syslog_lines 'action=start outcome=refused' | tail -n 1)
same_bytes "the refusal is logged with the expression as typed" "${hostile[2]}" audit_value "$line" expr
[ ! -e "$WORK/cwd/pwned" ] && [ ! -e /pwned ] && ok "no metacharacter was ever run" || fail "a metacharacter was run"

finish
