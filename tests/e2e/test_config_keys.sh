#!/usr/bin/env bash
# Configuration keys at work without root: file-mode on what cap-pull and
# cap-merge write, vlan as cap-pull's default, a bad value refused with its
# file and line; the suggested links of cap-info -v and cap-ls -v, from
# records on stdin and records in a capture directory.
source "$(dirname "$0")/lib.sh"
export TZ=UTC
gen=$CAPTURE_BIN/bench/make_archive
[ -x "$gen" ] || skip "no $gen (build the bench targets)"
cd "$WORK"
"$gen" --out arch --files 2 --size 64K --seed 3 --quiet >/dev/null
files=(arch/*)
mode() { stat -c %a "$1"; }

cat >modes.conf <<EOF
# the sensor's policy
file-mode = 0600
vlan = yes
archive = $WORK/arch
EOF
# A strict umask or a loose one: the configured mode wins either way.
run_tool bash -c "umask 022; CAPTURE_CONF=modes.conf cap-pull --dir '$WORK/caps' -a grant -e 'udp port 443'"
check_eq "cap-pull exits 0" 0 "$RC"
pulled=$(field file "$OUT")
check_eq "the pull's file has file-mode" 600 "$(mode "$pulled")"
check_eq "so has its record" 600 "$(mode "$pulled.record")"
if [ "$(id -u)" = 0 ]; then
  # As root, as cap-start makes it: the capture group may create files there.
  check_eq "the capture directory made for it as root is cap-start's" 2770 "$(mode caps)"
else
  check_eq "the capture directory made for it may be searched where files are read" 700 "$(mode caps)"
fi
check_eq "vlan = yes is cap-pull's default" yes "$(field vlan "$OUT")"
run_tool env CAPTURE_CONF=modes.conf cap-pull --dir "$WORK/caps" -a grant --no-vlan -e 'udp port 443'
check_eq "--no-vlan overrides it" "0/" "$RC/$(field vlan "$OUT")"
run_tool env CAPTURE_CONF=modes.conf cap-pull --dir "$WORK/caps" --vlan --no-vlan -e 'udp port 443'
check_eq "--vlan with --no-vlan is a usage error" 2 "$RC"

# analyst = NAME: the default analyst, before the user's name; -a before it.
# (Root with SUDO_USER set is a caller under sudo, whose CAPTURE_CONF is
# refused: the SUDO_USER default is test_sudo.sh's, through real sudo.)
printf 'analyst = carol\narchive = %s\n' "$WORK/arch" >analyst.conf
run_tool env CAPTURE_CONF=analyst.conf cap-pull --dir "$WORK/caps" -e 'udp port 443'
check_eq "analyst = carol: the pull is carol's, not the user's" carol "$(field analyst "$OUT")"
run_tool env CAPTURE_CONF=analyst.conf cap-pull --dir "$WORK/caps" -a dave -e 'udp port 443'
check_eq "-a before the analyst key" dave "$(field analyst "$OUT")"
run_tool cap-pull --dir "$WORK/caps" -r "$WORK/arch" -e 'udp port 443'
check_eq "without the key, the user's name" "$(id -un)" "$(field analyst "$OUT")"

printf 'file-mode = 0644\n' >loose.conf
run_tool bash -c "umask 077; CAPTURE_CONF=loose.conf cap-merge -w merged.pcap ${files[*]}"
check_eq "cap-merge exits 0" 0 "$RC"
check_eq "the merged file has file-mode, whatever the umask" 644 "$(mode merged.pcap)"

# A bad value: the file, the line, exit 2, nothing done.
printf 'dir = %s/none\n\nfile-mode = 0666\n' "$WORK" >bad.conf
run_tool cap-merge --config bad.conf -w never.pcap "${files[@]}"
check_eq "a bad file-mode is a configuration error" 2 "$RC"
check_match "named by file and line" "^cap-merge: bad.conf:3: file-mode: '0666' must not let others write" "$ERR"
check_eq "and nothing was written" "" "$(ls never.pcap 2>/dev/null || true)"
printf 'link = ids=https://ids.example/?q={ip}\n' >bad.conf
run_tool cap-info --config bad.conf "${files[0]}"
check_eq "a bad link template is a configuration error" 2 "$RC"
check_match "named by file and line" "^cap-info: bad.conf:1: link ids: unknown placeholder \{ip\}" "$ERR"

# Links: templates expanded with what the expression names.
cat >links.conf <<'EOF'
link = ids=https://ids.example/{hash}/hunt?q={host}:{port}
link = ipam=https://ipam.example/net/{net}
link = window=https://arkime.example/sessions?startTime={start_epoch}&stopTime={end_epoch}
EOF
export CAPTURE_CONF=$WORK/links.conf
rec=$(printf 'file=%s\texpr=host 10.0.0.35 and (udp port 443 or 53)\n' "${files[0]}")
run_tool cap-info -v <<<"$rec"
check_eq "cap-info -v exits 0" 0 "$RC"
links=$(field links "$OUT")
first=$(date -u -d "$(field first "$OUT" | cut -c1-19)" +%s)
last=$(date -u -d "$(field last "$OUT" | cut -c1-19)" +%s)
want="ids=https://ids.example/#/hunt?q=10.0.0.35:443 ids=https://ids.example/#/hunt?q=10.0.0.35:53"
want+=" window=https://arkime.example/sessions?startTime=$first&stopTime=$last"
check_eq "cap-info -v adds the links key: hosts x ports, the packets' times" "$want" "$links"
check_match "after cap-info's own figures" "	packets=[0-9]+	.*	links=" "$OUT"
check_eq "without -v, no links" "" "$(cap-info <<<"$rec" | grep -o 'links=' || true)"
check_eq "a bare file has no expression, so no links" "" "$(cap-info -v "${files[0]}" | grep -o 'links=' || true)"
run_tool cap-info -v --human <<<"$rec"
check_eq "for a person, one link a line" \
  "$(printf '  Links:\n    ids: https://ids.example/#/hunt?q=10.0.0.35:443\n    ids: https://ids.example/#/hunt?q=10.0.0.35:53')" \
  "$(grep -A2 '^  Links:' <<<"$OUT")"
check_eq "the record's own links key is not repeated as a field" "" "$(grep -o '^  links:' <<<"$OUT" || true)"

# cap-ls -v over a capture directory holding a finished capture's record.
mkdir spool
cp "${files[0]}" spool/grant_a.pcap
printf 'id=abcdef\tkind=live\tstate=stopped\tanalyst=grant\tfile=%s\tdesc=a\texpr=net 10.0.0.0/8 and not host 10.9.9.9\tstarted=2026-11-25T08:00:00Z\tended=2026-11-25T09:00:00Z\n' \
  "$WORK/spool/grant_a.pcap" >spool/grant_a.pcap.record
run_tool cap-ls --dir spool --all -v --records
check_eq "cap-ls -v exits 0" 0 "$RC"
check_eq "cap-ls -v records carry the links" \
  "ipam=https://ipam.example/net/10.0.0.0%2F8 window=https://arkime.example/sessions?startTime=1795593600&stopTime=1795597200" \
  "$(field links "$OUT")"
check_eq "cap-ls without -v does not" "" "$(field links "$(cap-ls --dir spool --all --records)")"
run_tool cap-ls --dir spool --all -v --human
check_match "the verbose block shows the expression" "^Expression: net 10.0.0.0/8 and not host 10.9.9.9$" "$OUT"
check_eq "and ends with the links" \
  "$(printf 'Links:\n  ipam: https://ipam.example/net/10.0.0.0%%2F8\n  window: https://arkime.example/sessions?startTime=1795593600&stopTime=1795597200')" \
  "$(sed -n '/^Links:/,$p' <<<"$OUT")"
finish
