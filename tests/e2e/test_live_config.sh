#!/usr/bin/env bash
# The configuration keys cap-start obeys: file-mode (its file, its record
# as rewritten each second, the directory it makes), vlan, buffer-size,
# duration and max-duration; and the suggested links of cap-ls -v and
# cap-stop -v for a live capture.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"

port=$(free_port 9)
conf=$WORK/capture.conf
cat >"$conf" <<'EOF'
file-mode = 0644
vlan = yes
buffer-size = 8M
duration = 1h
max-duration = 2h
link = ids=https://ids.example/{hash}/hunt?q={host}:{port}
EOF
export CAPTURE_CONF=$conf
mode() { stat -c %a "$1"; }

out=$(cap-start -a grant -d 'config keys' -e "udp and dst port $port and host 127.0.0.1" -i lo)
id=$(field id "$out")
file=$(field file "$out")
check_eq "vlan = yes: the record says so" yes "$(field vlan "$out")"
check_eq "and keeps the expression as given" "udp and dst port $port and host 127.0.0.1" "$(field expr "$out")"
check_eq "duration = 1h is the capture's limit" 3600 "$(field max_duration "$out")"
check_eq "the capture file has file-mode" 644 "$(mode "$file")"
check_eq "the directory made for it: setgid, group-writable, readable as the files are" 2775 "$(mode "$CAPTURE_DIR")"
send_udp "$port" 3
# The vlan form of the filter still takes the untagged frames of lo.
if wait_until 10 rec_field_is "$id" packets 3; then ok "the vlan filter matches untagged frames"; else fail "packets: $(rec_of "$id")"; fi
wait_until 10 grep -q 'updated=' "$file.record" || fail "the record was never rewritten"
check_eq "the record keeps file-mode when rewritten each second" 644 "$(mode "$file.record")"

run_tool cap-ls -v --human
check_eq "cap-ls -v shows the links" \
  "$(printf 'Links:\n  ids: https://ids.example/#/hunt?q=127.0.0.1:%s' "$port")" "$(sed -n '/^Links:/,$p' <<<"$OUT")"
check_eq "cap-ls -v in a pipe: the links key" "ids=https://ids.example/#/hunt?q=127.0.0.1:$port" \
  "$(field links "$(cap-ls -v --records)")"
run_tool cap-stop -v --records "$id"
check_eq "cap-stop -v exits 0" 0 "$RC"
check_eq "cap-stop -v adds the links key too" "ids=https://ids.example/#/hunt?q=127.0.0.1:$port" "$(field links "$OUT")"
check_eq "the final record keeps file-mode" 644 "$(mode "$file.record")"

# max-duration bounds --duration; --no-vlan overrides vlan.
run_tool cap-start -e "udp and dst port $port" -i lo --duration 3h
check_eq "--duration beyond max-duration is a usage error" 2 "$RC"
check_match "saying where the bound comes from" "^cap-start: --duration: '3h' is beyond max-duration \(2h, set in $conf\)" "$ERR"
out=$(cap-start -e "udp and dst port $port" -i lo --no-vlan --duration 1s)
id=$(field id "$out")
check_eq "--no-vlan: no vlan in the record" "" "$(field vlan "$out")"
if wait_until 10 rec_field_is "$id" state limit; then ok "--duration within max-duration ends it"; else fail "still $(rec_of "$id")"; fi

# Bad values of the file: named by file and line, exit 2, nothing started.
printf 'interface = lo\nbuffer-size = 4K\n' >"$WORK/bad.conf"
run_tool cap-start --config "$WORK/bad.conf" -e udp
check_eq "a bad buffer-size is a configuration error" 2 "$RC"
check_match "named by file and line" "^cap-start: $WORK/bad.conf:2: buffer-size: '4K' is not between 64K and 1G" "$ERR"
run_tool cap-start -B 100G -e udp -i lo
check_eq "and so is a bad -B" 2 "$RC"
check_eq "nothing was started" 0 "$(cap-ls | wc -l)"
finish
