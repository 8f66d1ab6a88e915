#!/usr/bin/env bash
# An ordinary capture directory works (root): one just made by the caller
# is given the capture group and mode 2770 and the capture starts in it;
# pulls in it get the same group as the live captures; a directory that
# is not for captures is left alone, with the command that fixes it; one
# that can never hold a capture (/proc, a file, read-only) is named with why.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"
need_generator
cd "$WORK"
runas=$(id -un tcpdump 2>/dev/null || echo nobody)
group=$(id -gn "$runas")

# mkdir d; cap-start --dir d: it works, and says what it changed.
mkdir d
run_tool cap-start --dir d -i lo -a g -d 'ordinary dir' -e 'udp port 9'
check_eq "mkdir d; cap-start --dir d: exit 0" 0 "$RC"
check_match "it says it made d usable" "cap-start: d: made usable by the capture \(group $group, mode 2770\)" "$ERR"
check_eq "d is now root:$group 2770" "root:$group:2770" "$(stat -c '%U:%G:%a' d)"
file=$(field file "$OUT")
check_eq "the capture's file is the capture user's, in the group" "$runas:$group" "$(stat -c '%U:%G' "$file")"
id=$(field id "$OUT")

# A pull in the same directory: the same group and mode as the live capture.
"$GEN" --out arch --files 2 --size 128K --seed 9 --quiet >/dev/null
run_tool cap-pull --dir d -a g -e ip -r arch
check_eq "a pull into d: exit 0" 0 "$RC"
pulled=$(field file "$OUT")
check_eq "the pull's file has the live capture's group and mode" "$(stat -c '%G:%a' "$file")" "$(stat -c '%G:%a' "$pulled")"
cap-stop --dir d "$id" >/dev/null 2>&1 || fail "cap-stop $id"

# A pull into a directory it makes itself, as root: made as cap-start makes it.
run_tool cap-pull --dir fresh -a g -e ip -r arch
check_eq "a pull into a new directory makes it root:$group 2770" "root:$group:2770" "$(stat -c '%U:%G:%a' fresh)"
check_eq "and its file is in the capture group" "$group" "$(stat -c '%G' "$(field file "$OUT")")"

# A directory that holds more than captures: left alone, with the fix.
mkdir busy
echo notes >busy/notes.txt
chmod 755 busy
run_tool cap-start --dir busy -i lo -a g -e 'udp port 9'
check_eq "a directory with other files: exit 1" 1 "$RC"
check_match "it says why and the command that fixes it" \
  "cap-start: busy: the capture runs as $runas:$group, which cannot write there \(left as it is: it holds more than captures\); give the captures a directory of their own: --dir busy/captures \(made as it should be\), or make this one usable with: chgrp $group busy && chmod 2770 busy" "$ERR"
check_eq "and leaves it as it was" "root:root:755" "$(stat -c '%U:%G:%a' busy)"
run_tool cap-start --dir busy/captures -i lo -a g -e 'udp port 9'
check_eq "the directory it advises works: exit 0" "0/" "$RC/$ERR"
check_eq "made as cap-start makes it" "root:$group:2770" "$(stat -c '%U:%G:%a' busy/captures)"
cap-stop --dir busy/captures "$(field id "$OUT")" >/dev/null 2>&1 || fail "cap-stop in busy/captures"

# Directories that can never hold a capture.
run_tool cap-start --dir /proc -i lo -a g -e 'udp port 9'
check_eq "--dir /proc: exit 1" 1 "$RC"
check_match "--dir /proc: a pseudo filesystem, not 'No such file'" "cap-start: /proc: on the proc pseudo filesystem, which cannot hold capture files" "$ERR"
run_tool cap-pull --dir /proc -a g -e ip -r arch
check_match "cap-pull --dir /proc: the same words" "cap-pull: /proc: on the proc pseudo filesystem" "$ERR"
touch plain
run_tool cap-start --dir plain -i lo -a g -e 'udp port 9'
check_match "--dir FILE: not a directory" "cap-start: plain: not a directory" "$ERR"
if [ -d /sys/kernel ]; then
  run_tool cap-start --dir /sys/kernel -i lo -a g -e 'udp port 9'
  check_match "--dir /sys/kernel: a pseudo filesystem" "/sys/kernel: on the sysfs pseudo filesystem" "$ERR"
fi
finish
