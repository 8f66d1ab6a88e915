#!/usr/bin/env bash
# Checks that the library's floors stay true (include/capture/README.md):
#   sys  <  pcap, text  <  engine  <  tool
# A header may include headers of its own floor and of the floors below it;
# pcap and text stand side by side and may not include each other. Also:
# every header lives in a floor, every include names a header that exists,
# and every unit test sits in the folder of the floor whose header it tests.
# Usage: check_layers.sh [SOURCE_DIR]. Prints each breach; exits 1 on any.
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
lib="$root/include/capture"

rank() {
  case $1 in
    sys) echo 0 ;;
    pcap | text) echo 1 ;;
    engine) echo 2 ;;
    tool) echo 3 ;;
    *) echo -1 ;;
  esac
}

breaches=0
breach() {
  echo "check_layers: $1" >&2
  breaches=$((breaches + 1))
}

[ -d "$lib" ] || { echo "check_layers: $lib: no such directory" >&2; exit 2; }

for header in "$lib"/*.hpp; do
  [ -e "$header" ] && breach "${header#"$root"/}: a header outside every floor (put it in sys/, pcap/, text/, engine/ or tool/)"
done

while IFS= read -r header; do
  rel=${header#"$lib"/}
  floor=${rel%%/*}
  own=$(rank "$floor")
  if [ "$own" -lt 0 ] || [ "$rel" = "$floor" ]; then
    breach "include/capture/$rel: not in a known floor"
    continue
  fi
  lineno=0
  while IFS= read -r line; do
    lineno=$((lineno + 1))
    case $line in
      '#include "capture/'* | '#include <capture/'*) ;;
      *) continue ;;
    esac
    target=${line#*capture/}
    target=${target%%[\">]*}
    tfloor=${target%%/*}
    if [ ! -f "$lib/$target" ]; then
      breach "include/capture/$rel:$lineno: includes capture/$target, which does not exist"
      continue
    fi
    theirs=$(rank "$tfloor")
    if [ "$tfloor" != "$floor" ] && [ "$theirs" -ge "$own" ]; then
      breach "include/capture/$rel:$lineno: $floor/ may not include $tfloor/ (capture/$target): floors are sys < pcap, text < engine < tool"
    fi
  done < "$header"
done < <(find "$lib" -mindepth 1 -name '*.hpp' | LC_ALL=C sort)

# Unit tests mirror the floors: tests/unit/FLOOR/test_NAME.cpp tests FLOOR/NAME.hpp.
while IFS= read -r test; do
  rel=${test#"$root"/tests/unit/}
  name=$(basename "$rel" .cpp)
  name=${name#test_}
  dir=$(dirname "$rel")
  if [ "$dir" = . ]; then
    breach "tests/unit/$rel: a unit test outside the floors' folders"
  elif [ ! -f "$lib/$dir/$name.hpp" ]; then
    where=""
    for candidate in "$lib"/*/"$name.hpp"; do
      [ -f "$candidate" ] && where=${candidate#"$lib"/}
    done
    breach "tests/unit/$rel: tests ${where:-a header that is not there}, not $dir/$name.hpp"
  fi
done < <(find "$root/tests/unit" -name 'test_*.cpp' | LC_ALL=C sort)

if [ "$breaches" -gt 0 ]; then
  echo "check_layers: $breaches breach(es) of the floors" >&2
  exit 1
fi
exit 0
