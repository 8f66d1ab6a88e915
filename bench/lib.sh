# Shared helpers for the benchmarks. Source it after setting `name`.
#
# Sets: src (source tree), build (build dir: $1, else $CAPTURE_BIN, else
# build), work (a temporary directory removed at exit), runs ($BENCH_RUNS, 3).
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${CAPTURE_BIN:-$src/build}}
runs=${BENCH_RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-${name:-capture}.XXXXXX")
trap 'rm -rf "$work"' EXIT

die() { echo "${name:-bench}: $*" >&2; exit 2; }

# tool NAME: the path of one of our built tools.
tool() {
  local t="$build/$1"
  [ -x "$t" ] || t=$(command -v "$1") || die "no $1 in $build or on PATH (build first)"
  printf '%s\n' "$t"
}

# make_archive DIR FILES SIZE [OPTION]...: a synthetic rolling archive.
make_archive() {
  local gen="$build/bench/make_archive" dir=$1 files=$2 size=$3
  shift 3
  if [ ! -x "$gen" ]; then
    g++ -std=c++17 -O2 -o "$work/make_archive" "$src/bench/make_archive.cpp" || die "cannot build make_archive"
    gen="$work/make_archive"
  fi
  "$gen" --out "$dir" --files "$files" --size "$size" --quiet "$@" >/dev/null
}

# make_warm_archive DIR FILES SIZE [OPTION]...: make_archive, then set
# inputs (its files, sorted) and total (their bytes), and warm them.
make_warm_archive() {
  make_archive "$@"
  mapfile -t inputs < <(find "$1" -maxdepth 1 -type f | sort)
  total=$(cat "${inputs[@]}" | wc -c)
  warm "${inputs[@]}"
}

# tcpdump run as root drops to its own user after opening the first file:
# zroot holds the flags that keep it root, so it reads what we read.
zroot=()
[ "$(id -u)" = 0 ] && zroot=(-Z root)

# warm FILE...: read twice so every run reads from the page cache.
warm() { cat "$@" >/dev/null; cat "$@" >/dev/null; }

# seconds COMMAND...: runs it with stdout discarded; prints wall-clock seconds.
seconds() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }'
}

# median VALUE...
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
