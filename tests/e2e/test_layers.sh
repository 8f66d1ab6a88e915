#!/usr/bin/env bash
# The library's floors (include/capture/README.md) hold: tests/layers/check_layers.sh
# passes on the tree, and fails, naming the place, on each kind of breach
# planted in a copy of it.
source "$(dirname "$0")/lib.sh"
checker="$CAPTURE_SOURCE/tests/layers/check_layers.sh"

run_tool bash "$checker" "$CAPTURE_SOURCE"
check_eq "the tree keeps its floors" "0" "$RC"
check_eq "nothing said about the tree" "" "$ERR"

# plant NAME EDIT...: a copy of the library and the unit tests, changed by EDIT, checked.
plant() {
  local copy="$WORK/$1"
  shift
  mkdir -p "$copy/tests"
  cp -R "$CAPTURE_SOURCE/include" "$copy/"
  cp -R "$CAPTURE_SOURCE/tests/unit" "$copy/tests/"
  (cd "$copy" && eval "$*")
  run_tool bash "$checker" "$copy"
}

plant upward 'printf "#include \"capture/engine/cli.hpp\"\n" >> include/capture/sys/fd.hpp'
check_eq "sys/ including engine/ is refused" "1" "$RC"
check_match "the breach names the file, the line and both floors" \
  'include/capture/sys/fd\.hpp:[0-9]+: sys/ may not include engine/ \(capture/engine/cli\.hpp\)' "$ERR"

plant sideways 'printf "#include \"capture/text/record.hpp\"\n" >> include/capture/pcap/bpf.hpp'
check_eq "pcap/ including text/ (siblings) is refused" "1" "$RC"
check_match "the sibling breach is named" 'pcap/bpf\.hpp:[0-9]+: pcap/ may not include text/' "$ERR"

plant loose 'printf "#pragma once\n" > include/capture/loose.hpp'
check_eq "a header outside every floor is refused" "1" "$RC"
check_match "the loose header is named" 'include/capture/loose\.hpp: a header outside every floor' "$ERR"

plant missing 'printf "#include \"capture/sys/nowhere.hpp\"\n" >> include/capture/tool/ls_tool.hpp'
check_eq "an include of a header that is not there is refused" "1" "$RC"
check_match "the missing header is named" 'tool/ls_tool\.hpp:[0-9]+: includes capture/sys/nowhere\.hpp, which does not exist' "$ERR"

plant misfiled 'mv tests/unit/sys/test_fd.cpp tests/unit/engine/test_fd.cpp'
check_eq "a unit test in another floor's folder is refused" "1" "$RC"
check_match "the misfiled test says where its header is" 'tests/unit/engine/test_fd\.cpp: tests sys/fd\.hpp, not engine/fd\.hpp' "$ERR"

plant downward 'printf "#include \"capture/sys/fd.hpp\"\n" >> include/capture/tool/ls_tool.hpp'
check_eq "including a lower floor is allowed" "0" "$RC"

finish
