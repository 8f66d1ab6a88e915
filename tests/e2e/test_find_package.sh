#!/usr/bin/env bash
# `cmake --install --prefix` lays out the tools, man pages, completions,
# the example configuration and the header-only library with a package
# config that another project finds with find_package(capture) and links.
source "$(dirname "$0")/lib.sh"
need_cmd cmake
prefix="$WORK/prefix"
cmake --install "$CAPTURE_BIN" --prefix "$prefix" >"$WORK/install.log"
check_eq "headers installed" yes "$([ -f "$prefix/include/capture/text/record.hpp" ] && echo yes)"
check_eq "package config installed" yes "$(ls "$prefix"/lib*/cmake/capture/captureConfig.cmake >/dev/null 2>&1 && echo yes)"
check_eq "tools installed" yes "$([ -x "$prefix/bin/cap-info" ] && echo yes)"
check_eq "man pages installed" yes "$([ -f "$prefix/share/man/man1/cap-info.1" ] && [ -f "$prefix/share/man/man5/cap-record.5" ] && echo yes)"

# The whole layout, as the Debian package has it, under any prefix.
missing=''
for page in "$CAPTURE_SOURCE"/man/*.[1-9]; do
  name=${page##*/}
  dest=$prefix/share/man/man${name##*.}/$name
  [ -f "$dest" ] || [ -f "$dest.gz" ] || missing+=" $name"
done
for exe in "$CAPTURE_BIN"/cap-*; do
  [ -x "$exe" ] || continue
  t=${exe##*/}
  [ -x "$prefix/bin/$t" ] || missing+=" bin/$t"
  cmp -s "$prefix/share/bash-completion/completions/$t" "$CAPTURE_SOURCE/completions/capture.bash" ||
    missing+=" bash-completion/completions/$t"
done
cmp -s "$prefix/share/zsh/site-functions/_capture" "$CAPTURE_SOURCE/completions/_capture" || missing+=" zsh/site-functions/_capture"
cmp -s "$prefix/etc/capture.conf" "$CAPTURE_SOURCE/etc/capture.conf" || missing+=" etc/capture.conf"
check_eq "every tool, man page, completion and the example configuration is installed" "" "$missing"
outside=$(grep -v "^$prefix/" "$CAPTURE_BIN/install_manifest.txt" || true)
check_eq "nothing is installed outside the prefix" "" "$outside"

if cmake -S "$CAPTURE_SOURCE/tests/consumer" -B "$WORK/consumer" -DCMAKE_PREFIX_PATH="$prefix" >"$WORK/consumer.log" 2>&1 &&
   cmake --build "$WORK/consumer" >>"$WORK/consumer.log" 2>&1; then
  ok "a consumer project builds against the installed package"
else
  cat "$WORK/consumer.log" >&2
  fail "the consumer project does not build"
fi
"$CAPTURE_BIN/bench/make_archive" --out "$WORK/archive" --files 1 --size 64K --seed 9 >/dev/null
f=$(ls "$WORK"/archive/*)
if [ -x "$WORK/consumer/consumer" ]; then
  check_eq "the consumer counts packets as cap-info does" \
    "$(field packets "$(cap-info "$f")")" "$(field packets "$("$WORK/consumer/consumer" "$f")")"
fi
finish
