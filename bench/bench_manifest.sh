#!/usr/bin/env bash
# What the provenance manifest costs a pull, in one run on one archive in
# the page cache: cap-pull --no-manifest, cap-pull with the default manifest
# (sources stat(2)ed, the output's SHA-256 made while it is written), and
# with --hash-sources (every source read once more: no target, shown for
# scale). Two expressions on the same archive: a narrow one (a small
# output: what is left is the manifest's fixed cost) and '' (the whole
# archive out, 256 MiB by default: the SHA-256 of every byte written).
#
# The variants take turns in every round (their order swapped each round,
# so none always runs on a cache the other warmed), each pull into a fresh
# directory removed outside the timing. Before anything is timed, the
# outputs with and without the manifest are compared byte for byte and the
# manifest's digest with sha256sum's. Wall and cpu (user + system) times,
# medians; the ratio is manifest / --no-manifest of the wall medians, and
# the median of each round's own ratio beside it (steadier when other work
# on the machine comes and goes). Issue 17's target is checked at the end:
# the manifest costs at most 3% (BENCH_TARGET) of the wall time, for both
# outputs (exit 1 when missed).
#
# Usage: bash bench/bench_manifest.sh [BUILD_DIR]   (default: build, or $CAPTURE_BIN)
# Environment: BENCH_FILES (16), BENCH_SIZE (16M, per file), BENCH_RUNS (9),
#              BENCH_TARGET (1.03).
name=bench_manifest
source "$(dirname "$0")/lib.sh"
runs=${BENCH_RUNS:-9}
files=${BENCH_FILES:-16}
size=${BENCH_SIZE:-16M}
target=${BENCH_TARGET:-1.03}
cap_pull=$(tool cap-pull)
make_warm_archive "$work/archive" "$files" "$size"

# pull DIR EXPR OPTION...: one pull into the capture directory DIR.
pull() {
  local dir=$1 expr=$2
  shift 2
  "$cap_pull" --no-syslog --dir "$dir" -a bench -d bench -e "$expr" -r "$work/archive" "$@" >/dev/null
}
# timed DIR EXPR OPTION...: pull, timed; prints "WALL CPU" in seconds
# (bash's time: the pull's own user and system time, its threads' too).
timed() {
  local TIMEFORMAT='%3R %3U %3S' t
  rm -rf "$1"
  t=$( { time pull "$@" 2>/dev/null; } 2>&1) || die "cap-pull failed: $*"
  rm -rf "$1"
  awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' <<<"$t"
}
col() { local i=$1; shift; printf '%s\n' "$@" | awk -v i="$i" '{ print $i }'; }

bad=0
for expr in 'host 10.0.0.7' ''; do
  label=${expr:-(all)}
  # Checked first: the manifest changes nothing in the output, and its
  # digest is the file's.
  rm -rf "$work/on" "$work/off"
  pull "$work/off" "$expr" --no-manifest
  pull "$work/on" "$expr"
  out_on=$(find "$work/on" -name '*.pcap' -type f) out_off=$(find "$work/off" -name '*.pcap' -type f)
  cmp -s "$out_on" "$out_off" || die "$label: the output with the manifest differs from the one without"
  want=$(sha256sum "$out_on" | cut -d' ' -f1)
  grep -q "\"sha256\": \"$want\"" "$out_on.manifest.json" || die "$label: the manifest's digest is not sha256sum's"
  out_mib=$(awk -v b="$(stat -c %s "$out_on")" 'BEGIN { printf "%.1f", b / 1048576 }')
  rm -rf "$work/on" "$work/off"

  none=() with=() hashed=()
  for ((i = 0; i < runs; i++)); do
    if ((i % 2 == 0)); then
      none+=("$(timed "$work/caps" "$expr" --no-manifest)")
      with+=("$(timed "$work/caps" "$expr")")
    else
      with+=("$(timed "$work/caps" "$expr")")
      none+=("$(timed "$work/caps" "$expr" --no-manifest)")
    fi
    hashed+=("$(timed "$work/caps" "$expr" --hash-sources)")
  done
  nw=$(median $(col 1 "${none[@]}")) nc=$(median $(col 2 "${none[@]}"))
  ww=$(median $(col 1 "${with[@]}")) wc=$(median $(col 2 "${with[@]}"))
  hw=$(median $(col 1 "${hashed[@]}")) hc=$(median $(col 2 "${hashed[@]}"))
  paired=$(median $(paste -d' ' <(col 1 "${with[@]}") <(col 1 "${none[@]}") | awk '{ printf "%.4f\n", $1 / $2 }'))
  awk -v e="$label" -v mib=$((total >> 20)) -v o="$out_mib" -v runs="$runs" -v t="$target" -v p="$paired" \
    -v nw="$nw" -v nc="$nc" -v ww="$ww" -v wc="$wc" -v hw="$hw" -v hc="$hc" 'BEGIN {
    printf "expression %s: archive %d MiB, output %s MiB, %d runs (medians)\n", e, mib, o, runs
    printf "  --no-manifest:   wall %.3f s  cpu %.3f s\n", nw, nc
    printf "  manifest:        wall %.3f s  cpu %.3f s  ratio %.3f (round by round %.3f), cpu +%.3f s\n", ww, wc, ww / nw, p, wc - nc
    printf "  --hash-sources:  wall %.3f s  cpu %.3f s  ratio %.3f\n", hw, hc, hw / nw
    r = ww / nw
    printf "target: manifest <= %.2fx --no-manifest, output %s MiB: %.3f %s\n", t, o, r, (r <= t ? "ok" : "MISSED")
    exit (r > t)
  }' || bad=$((bad + 1))
done
exit $((bad > 0))
