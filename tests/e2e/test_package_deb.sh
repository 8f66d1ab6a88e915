#!/usr/bin/env bash
# make -f Makefile.dist deb: the Debian package declares its runtime
# dependencies, has gzipped man pages, a copyright file and a changelog,
# and lintian finds no error in it; installed with dpkg -i on this
# machine, it puts the tools, man pages, completions, the example
# /etc/capture.conf (a conffile: a local edit survives reinstalling) and
# the CMake package in their places; removed, the tools are gone and the
# conffile stays; purged, nothing is left. The machine is left as found:
# the test skips where a capture package, the tools in /usr/bin or an
# /etc/capture.conf are there already.
source "$(dirname "$0")/lib.sh"
[ "${CAPTURE_SANITIZED:-OFF}" != ON ] || skip "packaging is tested by the plain build, not under the sanitizers"
need_root
need_cmd dpkg
need_cmd dpkg-deb
need_cmd dpkg-shlibdeps
need_cmd cpack
need_cmd make
need_cmd man
if grep -Eq 'installed|config-files|unpacked' <<<"$(dpkg-query -W -f='${Status}' capture 2>/dev/null || true)"; then
  skip "a package named capture is on this machine already: not touching it"
fi
[ ! -e /etc/capture.conf ] || skip "/etc/capture.conf exists: not touching this machine's configuration"
[ ! -e /usr/bin/cap-info ] || skip "/usr/bin/cap-info exists: not touching it"
version=$(awk '$1 ~ /^project/ && $2 == "VERSION" {print $3; exit}' "$CAPTURE_SOURCE/CMakeLists.txt")
tools=(cap-info cap-hash cap-merge cap-start cap-ls cap-stop cap-pull cap-index)

installed=false
cleanup_package() {
  if [ "$installed" = true ]; then dpkg -P capture >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup_package EXIT

run_tool make -s -C "$CAPTURE_SOURCE" -f Makefile.dist deb BUILD="$WORK/build" JOBS="$(nproc 2>/dev/null || echo 2)"
check_eq "make deb exits 0" 0 "$RC"
debs=("$WORK"/build-deb/*.deb)
[ -f "${debs[0]}" ] || { fail "no .deb in $WORK/build-deb: $(tail -n 20 <<<"$ERR")"; finish; exit; }
deb=${debs[0]}
check_match "named as Debian names packages" "/capture_${version}_[a-z0-9]+\.deb$" "$deb"

# The package as built.
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libpcap0.8 libssl3 libboost-program-options libboost-filesystem libc6; do
  check_match "it depends on $lib" "(^|, )$lib" "$depends"
done
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
check_eq "its man pages are gzipped" "" "$(grep -E '/share/man/man[0-9]/.*[^z]$' <<<"$contents" || true)"
check_eq "it marks /etc/capture.conf a conffile" "/etc/capture.conf" "$(dpkg-deb -I "$deb" conffiles)"
check_eq "it holds its copyright file" ./usr/share/doc/capture/copyright \
  "$(grep -x '\./usr/share/doc/capture/copyright' <<<"$contents" || true)"
check_match "which says no licence is chosen yet, in DEP-5 form" '^License: none-chosen$' \
  "$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/capture/copyright)"
check_eq "and its changelog, gzipped" ./usr/share/doc/capture/changelog.gz \
  "$(grep -x '\./usr/share/doc/capture/changelog\.gz' <<<"$contents" || true)"
# lintian: no error (E:) at all; its warnings (W:) are shown, not fatal.
if command -v lintian >/dev/null; then
  lintian_rc=0
  lintian --tag-display-limit 0 "$deb" >"$WORK/lintian.txt" 2>&1 || lintian_rc=$?
  grep '^W: ' "$WORK/lintian.txt" >&2 || true
  check_eq "lintian reports no error" "" "$(grep '^E: ' "$WORK/lintian.txt" || true)"
  check_eq "lintian ran (exit 0, or 1 for errors)" yes "$([ "$lintian_rc" -le 1 ] && echo yes || echo "no: $lintian_rc $(cat "$WORK/lintian.txt")")"
else
  fail "no lintian (.ci/deps installs it): the package is not checked"
fi

# Installed.
installed=true
run_tool dpkg -i "$deb"
check_eq "dpkg -i exits 0" 0 "$RC"
[ "$RC" = 0 ] || echo "$ERR" >&2
check_eq "dpkg says it is installed" "install ok installed $version" \
  "$(dpkg-query -W -f='${Status} ${Version}' capture 2>/dev/null)"
run_tool /usr/bin/cap-info --version
check_eq "cap-info --version" "0/cap-info (capture) $version" "$RC/$OUT"
for t in "${tools[@]}"; do
  run_tool "/usr/bin/$t" --help
  [ "$RC" = 0 ] && ok "/usr/bin/$t --help exits 0" || fail "/usr/bin/$t --help: $RC $ERR"
done
run_tool man -w cap-pull
check_eq "man -w cap-pull" "0//usr/share/man/man1/cap-pull.1.gz" "$RC/$OUT"
run_tool man -w 5 capture.conf
check_eq "man -w 5 capture.conf" "0//usr/share/man/man5/capture.conf.5.gz" "$RC/$OUT"
check_eq "the page is the source's, gzipped" "" "$(zcat /usr/share/man/man1/cap-pull.1.gz | cmp - "$CAPTURE_SOURCE/man/cap-pull.1" 2>&1)"
for t in "${tools[@]}"; do
  [ -f "/usr/share/bash-completion/completions/$t" ] && ok "bash completion for $t" || fail "no bash completion for $t"
done
zsh_dirs=(/usr/share/zsh/vendor-completions/_capture /usr/share/zsh/site-functions/_capture)
if [ -f "${zsh_dirs[0]}" ] || [ -f "${zsh_dirs[1]}" ]; then ok "zsh completion installed"; else fail "no zsh completion"; fi
if [ -r /usr/share/bash-completion/bash_completion ]; then
  spec=$(bash --norc --noprofile -c 'source /usr/share/bash-completion/bash_completion
    __load_completion cap-stop; complete -p cap-stop' 2>&1)
  check_match "bash-completion loads it on demand" "^complete -F _capture .*cap-stop" "$spec"
fi
check_eq "the example configuration is /etc/capture.conf" "" "$(cmp /etc/capture.conf "$CAPTURE_SOURCE/etc/capture.conf" 2>&1)"
check_eq "dpkg lists it as a conffile" "/etc/capture.conf" \
  "$(dpkg-query -W -f='${Conffiles}\n' capture | awk 'NF {print $1}')"
run_tool env -u CAPTURE_CONF /usr/bin/cap-ls --dir "$WORK/empty"
check_eq "the installed tools accept the installed configuration" "0/" "$RC/$ERR"
cmake_configs=(/usr/lib/*/cmake/capture/captureConfig.cmake /usr/share/cmake/capture/captureConfig.cmake)
found=''
for f in "${cmake_configs[@]}"; do [ -f "$f" ] && found=$f; done
check_match "the CMake package is installed" "^/usr/(lib/[^/]+|share)/cmake/capture/captureConfig\.cmake$" "$found"
[ -f /usr/include/capture/engine/cli.hpp ] && ok "the headers are installed" || fail "no /usr/include/capture/engine/cli.hpp"

# A local edit of the conffile survives installing the package again.
echo '# local edit' >>/etc/capture.conf
run_tool dpkg -i "$deb"
check_eq "dpkg -i again exits 0" 0 "$RC"
check_eq "the local edit of /etc/capture.conf is kept" "# local edit" "$(tail -n1 /etc/capture.conf)"

# Removed, then purged.
run_tool dpkg -r capture
check_eq "dpkg -r exits 0" 0 "$RC"
gone=''
for t in "${tools[@]}"; do [ ! -e "/usr/bin/$t" ] || gone+=" $t"; done
check_eq "the tools are gone" "" "$gone"
run_tool man -w cap-pull
check_eq "and so are the man pages" 16 "$RC"
check_eq "the conffile stays until purged" "deinstall ok config-files" \
  "$(dpkg-query -W -f='${Status}' capture 2>/dev/null)"
[ -f /etc/capture.conf ] && ok "/etc/capture.conf is still there" || fail "/etc/capture.conf removed by dpkg -r"
run_tool dpkg -P capture
check_eq "dpkg -P exits 0" 0 "$RC"
installed=false
[ ! -e /etc/capture.conf ] && ok "purged: /etc/capture.conf is gone" || fail "/etc/capture.conf left after purge"
check_eq "purged: dpkg knows no capture package" "" \
  "$(dpkg-query -W -f='${Status}' capture 2>/dev/null | grep -v not-installed || true)"
left=$(ls -d /usr/include/capture /usr/lib/*/cmake/capture /usr/share/zsh/vendor-completions/_capture \
  /usr/share/bash-completion/completions/cap-* 2>/dev/null || true)
check_eq "nothing of it is left" "" "$left"
finish
