#!/usr/bin/env bash
# Privileges and files of a live capture (root, on lo), checked from /proc:
# once the device is open the capture runs as the configured unprivileged
# user and group (every uid and gid field, the supplementary groups) with
# no capability left; its file and record are 0640 in the capture group,
# whatever the umask; a capture directory it creates is root's and the
# group's (2770, set-group-ID); the 'user' and 'group' keys choose them.
# Links planted at the names it will create (file, record) point at a fake
# /etc and a copy of /etc/passwd: nothing outside is touched.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"
port=$(free_port 4)  # no traffic is sent or counted: any port will do

# proc_field PID NAME: the value of NAME: in /proc/PID/status, tabs as spaces.
proc_field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

# check_process WHAT PID USER GROUP: PID runs as USER:GROUP and nothing more.
check_process() {
  local uid gid
  uid=$(id -u "$3")
  gid=$(getent group "$4" | cut -d: -f3)
  check_eq "$1: real, effective, saved and fs uid" "$uid $uid $uid $uid" "$(proc_field "$2" Uid)"
  check_eq "$1: real, effective, saved and fs gid" "$gid $gid $gid $gid" "$(proc_field "$2" Gid)"
  check_eq "$1: no supplementary group but the capture group" "$gid" "$(proc_field "$2" Groups)"
  for cap in CapInh CapPrm CapEff CapAmb; do
    check_eq "$1: $cap is empty" 0000000000000000 "$(proc_field "$2" "$cap")"
  done
}

default_user=tcpdump
id tcpdump >/dev/null 2>&1 || default_user=nobody
default_group=$(id -gn "$default_user")

# Defaults, started under umask 000 into a directory that does not exist yet.
export CAPTURE_DIR=$WORK/new/spool
out=$(umask 000 && cap-start -a ann -d defaults -e "udp and dst port $port" -i lo)
pid=$(field pid "$out")
file=$(field file "$out")
check_process "the capture" "$pid" "$default_user" "$default_group"
check_eq "the capture file: 0640, in the capture group" "640 $default_user:$default_group" "$(stat -c '%a %U:%G' "$file")"
check_eq "its record: 0640, in the capture group" "640 $default_user:$default_group" "$(stat -c '%a %U:%G' "$file.record")"
check_eq "the capture directory made for it: root's and the group's, set-group-ID" "2770 root:$default_group" \
  "$(stat -c '%a %U:%G' "$CAPTURE_DIR")"
cap-stop "$(field id "$out")" >/dev/null
check_eq "the final record keeps the mode" 640 "$(stat -c %a "$file.record")"

# The 'user' and 'group' keys.
other_group=$(getent group users >/dev/null && echo users || echo nogroup)
if [ "$other_group" != "$default_group" ] && getent group "$other_group" >/dev/null && id nobody >/dev/null 2>&1; then
  printf 'user = nobody\ngroup = %s\n' "$other_group" >"$WORK/capture.conf"
  export CAPTURE_DIR=$WORK/keyed/spool
  out=$(cap-start --config "$WORK/capture.conf" -a ann -d keyed -e "udp and dst port $port" -i lo)
  pid=$(field pid "$out")
  file=$(field file "$out")
  check_process "with user = nobody, group = $other_group" "$pid" nobody "$other_group"
  check_eq "the file in the configured group" "640 nobody:$other_group" "$(stat -c '%a %U:%G' "$file")"
  check_eq "the directory in the configured group" "2770 root:$other_group" "$(stat -c '%a %U:%G' "$CAPTURE_DIR")"
  check_eq "the record says whom it runs as" "nobody:$other_group" "$(field runas "$out")"
  cap-stop "$(field id "$out")" >/dev/null
else
  echo "note: no second group (users, nogroup) to configure: the group key is not checked"
fi

# Links planted at the names of the next few seconds, for the file and its record.
export CAPTURE_DIR=$WORK/spool
mkdir -p "$WORK/fake-etc" "$WORK/etc-copy"
mkdir -m 2770 "$CAPTURE_DIR" && chgrp "$default_group" "$CAPTURE_DIR"  # as cap-start makes it
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$WORK/fake-etc/passwd"
cp /etc/passwd "$WORK/etc-copy/passwd"
touch -d '2001-02-03 04:05:06' "$WORK/fake-etc/passwd" "$WORK/etc-copy/passwd"
targets=("$WORK/fake-etc/passwd" "$WORK/etc-copy/passwd")
for t in "${targets[@]}"; do cp -p "$t" "$t.orig"; done
chmod 755 "$WORK/fake-etc" "$WORK/etc-copy"
i=0
for ((t = $(date +%s); t <= $(date +%s) + 4; t++)); do
  stamp=$(date -u -d "@$t" +%a.%b%d.%Y-%H.%M.%S.UTC)
  name="$CAPTURE_DIR/ann_planted_${stamp}_${t}_.pcap"
  ln -sfn "${targets[$((i++ % 2))]}" "$name"
  ln -sfn "${targets[$((i++ % 2))]}" "$name.record"
  # The name it will take instead: its record is planted too.
  ln -sfn "${targets[$((i++ % 2))]}" "$CAPTURE_DIR/ann_planted.2_${stamp}_${t}_.pcap.record"
done
out=$(cap-start -a ann -d planted -e "udp and dst port $port" -i lo)
file=$(field file "$out")
[ -f "$file" ] && [ ! -L "$file" ] && ok "cap-start: its file is a regular file of its own" || fail "cap-start: file $file"
check_match "cap-start: under the next free name" '_planted\.2_' "$file"
cap-stop "$(field id "$out")" >/dev/null
[ -f "$file.record" ] && [ ! -L "$file.record" ] && ok "cap-start: its record too" || fail "cap-start: record $file.record"
bad=""
for t in "${targets[@]}"; do
  cmp -s "$t" "$t.orig" || bad+=" $t (content)"
  [ "$(stat -c %Y "$t")" = "$(stat -c %Y "$t.orig")" ] || bad+=" $t (mtime)"
done
check_eq "cap-start: nothing outside the capture directory was touched" "" "$bad"

finish
