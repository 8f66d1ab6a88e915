#!/usr/bin/env bash
# make -f Makefile.dist dist: a versioned tarball of what git tracks at
# HEAD, which configures, builds and passes tests from a clean unpack. To
# stay quick on two cores, two tools and two unit tests are built and run
# (with the man page checks); `make -f Makefile.dist distcheck` does all.
# Uncommitted changes are not in the tarball: it tests HEAD.
source "$(dirname "$0")/lib.sh"
[ "${CAPTURE_SANITIZED:-OFF}" != ON ] || skip "packaging is tested by the plain build, not under the sanitizers"
need_cmd git
need_cmd make
git -C "$CAPTURE_SOURCE" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
  skip "$CAPTURE_SOURCE is not a git checkout: make dist archives git's HEAD"
version=$(awk '$1 ~ /^project/ && $2 == "VERSION" {print $3; exit}' "$CAPTURE_SOURCE/CMakeLists.txt")
tarball=$WORK/capture-$version.tar.gz
jobs=$(nproc 2>/dev/null || echo 2)

run_tool make -s -C "$CAPTURE_SOURCE" -f Makefile.dist dist TARBALL="$tarball"
check_eq "make dist exits 0" 0 "$RC"
[ -f "$tarball" ] || { fail "no $tarball: $ERR"; finish; exit; }
ok "make dist wrote capture-$version.tar.gz"

listing=$(tar -tzf "$tarball")
check_eq "everything is under capture-$version/" "" "$(grep -v "^capture-$version/" <<<"$listing" || true)"
files=$(sed -n "s|^capture-$version/||p" <<<"$listing" | grep -v -e '/$' -e '^$' | LC_ALL=C sort)
tracked=$(git -C "$CAPTURE_SOURCE" ls-tree -r --name-only HEAD | LC_ALL=C sort)
check_eq "it holds exactly what git tracks at HEAD" "$tracked" "$files"
for f in CMakeLists.txt Makefile.dist etc/capture.conf man/cap-pull.1 man/capture.conf.5 completions/_capture \
  completions/capture.bash cmake/captureConfig.cmake.in include/capture/engine/cli.hpp packaging/debian/copyright; do
  grep -qx -- "$f" <<<"$files" && ok "the tarball has $f" || fail "the tarball lacks $f"
done

# From a clean unpack: configure, build, test.
mkdir "$WORK/unpack"
tar -xzf "$tarball" -C "$WORK/unpack"
src=$WORK/unpack/capture-$version
run_tool cmake -S "$src" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DCAPTURE_BUILD_BENCH=OFF \
  -DCAPTURE_CORPUS_DIR="$CAPTURE_CORPUS"
check_eq "the unpacked tree configures" 0 "$RC"
[ "$RC" = 0 ] || { echo "$ERR" >&2; finish; exit; }
run_tool cmake --build "$WORK/build" -j"$jobs" --target cap-info cap-hash test_record test_config
check_eq "and builds" 0 "$RC"
[ "$RC" = 0 ] || { echo "$ERR" | tail -n 30 >&2; finish; exit; }
run_tool "$WORK/build/cap-info" --version
check_eq "the tools built from it say its version" "cap-info (capture) $version" "$OUT"
run_tool ctest --test-dir "$WORK/build" --output-on-failure -R '^(unit\.test_(record|config)|e2e\.test_docs_agree)$'
check_eq "its tests pass" 0 "$RC"
check_match "all three of them" "100% tests passed, 0 tests failed out of 3" "$OUT"
[ "$RC" = 0 ] || echo "$OUT" >&2
finish
