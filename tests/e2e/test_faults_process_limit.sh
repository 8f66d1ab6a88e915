#!/usr/bin/env bash
# A process limit that leaves no thread, or only a few (ulimit -u, or
# systemd's TasksMax, on a sensor): the tools that work on several threads
# (cap-pull's walkers and progress, cap-hash and cap-info's workers,
# cap-merge's writer, the writer and digest threads of a pull's manifest)
# do the work on the threads they can have, and give
# exactly what they give without the limit. The limit binds users other
# than root only, so the tools run as nobody (root is needed to become it).
source "$(dirname "$0")/lib.sh"
need_root
need_cmd setpriv
need_cmd prlimit
id nobody >/dev/null 2>&1 || skip "no user nobody"
need_generator
cd "$WORK"
chmod 755 "$WORK"

"$GEN" --out arch --files 6 --size 1M --seed 71 --quiet >/dev/null
files=("$WORK"/arch/*)
mkdir -m 0777 out
# as_nobody NPROC COMMAND...: runs COMMAND as nobody under prlimit --nproc
# (threads count as processes), as run_tool does. LeakSanitizer needs a
# thread of its own at exit, which the limit denies: leaks are checked by
# every other test, not here.
as_nobody() {
  local nproc=$1
  shift
  run_tool env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups prlimit --nproc="$nproc" -- "$@"
}
# Without a limit, for comparison.
run_tool cap-pull --no-syslog -a n -e 'tcp' -r arch -j 4 -w "$WORK/out/free.pcap"
check_eq "pull without a limit: exit 0" "0:" "$RC:$ERR"
run_tool cap-hash --no-syslog -j 4 "${files[@]}"
hashes=$OUT
run_tool cap-info --no-syslog -j 4 "${files[@]}"
infos=$OUT
run_tool cap-merge --no-syslog -w "$WORK/out/free-merge.pcap" "${files[@]}"
check_eq "merge without a limit: exit 0" "0:" "$RC:$ERR"

# 1: not even one more thread. 3: a few, fewer than asked for (how many
# depends on what else nobody runs: any number must do).
for nproc in 1 3; do
  as_nobody "$nproc" cap-pull --no-syslog -a n -e 'tcp' -r arch -j 4 -w "$WORK/out/pull$nproc.pcap"
  check_eq "nproc $nproc: pull: exit 0, nothing said" "0:" "$RC:$ERR"
  if cmp -s out/free.pcap "out/pull$nproc.pcap"; then ok "nproc $nproc: pull: the same bytes"; else fail "nproc $nproc: pull: other bytes"; fi
  as_nobody "$nproc" cap-hash --no-syslog -j 4 "${files[@]}"
  check_eq "nproc $nproc: hash: exit 0, nothing said" "0:" "$RC:$ERR"
  check_eq "nproc $nproc: hash: the same records" "$hashes" "$OUT"
  as_nobody "$nproc" cap-info --no-syslog -j 4 "${files[@]}"
  check_eq "nproc $nproc: info: exit 0, nothing said" "0:" "$RC:$ERR"
  check_eq "nproc $nproc: info: the same records" "$infos" "$OUT"
  as_nobody "$nproc" cap-merge --no-syslog -w "$WORK/out/merge$nproc.pcap" "${files[@]}"
  check_eq "nproc $nproc: merge: exit 0, nothing said" "0:" "$RC:$ERR"
  if cmp -s out/free-merge.pcap "out/merge$nproc.pcap"; then ok "nproc $nproc: merge: the same bytes"; else fail "nproc $nproc: merge: other bytes"; fi
  # The manifest's digest, made on whatever thread could be had.
  as_nobody "$nproc" cap-pull --no-syslog -a n -e 'tcp' -r arch -j 4 -w "$WORK/out/manifest$nproc.pcap" --manifest
  check_eq "nproc $nproc: pull with a manifest: exit 0, nothing said" "0:" "$RC:$ERR"
  check_eq "nproc $nproc: its digest is sha256sum's" "$(sha256sum "out/manifest$nproc.pcap" | cut -d' ' -f1)" \
    "$(grep -o '"sha256": "[0-9a-f]*"' "out/manifest$nproc.pcap.manifest.json" | tail -1 | cut -d'"' -f4)"
  as_nobody "$nproc" cap-merge --no-syslog -w "$WORK/out/mmanifest$nproc.pcap" --manifest "${files[@]}"
  check_eq "nproc $nproc: merge with a manifest: its digest is sha256sum's" \
    "$(sha256sum "out/mmanifest$nproc.pcap" | cut -d' ' -f1)" \
    "$(grep -o '"sha256": "[0-9a-f]*"' "out/mmanifest$nproc.pcap.manifest.json" | tail -1 | cut -d'"' -f4)"
done

finish
