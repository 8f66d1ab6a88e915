#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs them for a bounded time:
# the first argument (seconds; default 90) is the budget of all of them,
# shared by weight (the capture reader, the parser of hostile files, gets
# the most; a target without a weight gets 10). Seeded with tests/fuzz/seeds
# and, for the capture reader, ../shared/corpus/tcpdump read in place. New
# inputs go to a scratch directory, never into the repository or the corpus.
set -euo pipefail
cd "$(dirname "$0")/../.."
budget=${1:-90}
declare -A weight=([fuzz_capture_reader]=35 [fuzz_record]=15 [fuzz_config]=15 [fuzz_checksum_line]=15 [fuzz_time_arg]=10 [fuzz_index_reader]=15 [fuzz_pcap_stream]=15)
command -v clang++ >/dev/null || { echo "SKIP: fuzzing needs clang++"; exit 0; }
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCAPTURE_FUZZ=ON \
  -DCAPTURE_BUILD_TESTS=OFF -DCAPTURE_BUILD_BENCH=OFF -DCAPTURE_HARDENING=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target capture_fuzzers >/dev/null
corpus_dir=${CAPTURE_CORPUS:-$PWD/../shared/corpus}/tcpdump
scratch=$(mktemp -d /tmp/capture-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
targets=(build-fuzz/tests/fuzz/fuzz_*)
total=0
for target in "${targets[@]}"; do total=$((total + ${weight[$(basename "$target")]:-10})); done
status=0
for target in "${targets[@]}"; do
  name=$(basename "$target")
  seconds=$(( budget * ${weight[$name]:-10} / total ))
  [ "$seconds" -ge 1 ] || seconds=1
  seeds=()
  [ -d "tests/fuzz/seeds/$name" ] && seeds+=("tests/fuzz/seeds/$name")
  # A sensor's stream is a capture file that arrives in pieces: the
  # reader's seeds are the stream's too.
  [ "$name" = fuzz_pcap_stream ] && seeds+=("tests/fuzz/seeds/fuzz_capture_reader")
  if [ "$name" = fuzz_capture_reader ] || [ "$name" = fuzz_pcap_stream ]; then
    if [ -d "$corpus_dir" ]; then seeds+=("$corpus_dir"); else echo "note: corpus absent, $name runs on its own seeds"; fi
  fi
  mkdir -p "$scratch/$name"
  echo "fuzz: $name for ${seconds}s (seeds: ${seeds[*]:-none})"
  if ! "$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$scratch/" "$scratch/$name" "${seeds[@]}" >"$scratch/$name.log" 2>&1; then
    echo "FAIL: $name found a problem:"; tail -n 60 "$scratch/$name.log"; status=1
  else
    grep -E '^(stat::number_of_executed_units|Done)' "$scratch/$name.log" || tail -n 2 "$scratch/$name.log"
  fi
done
exit $status
