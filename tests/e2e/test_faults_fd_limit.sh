#!/usr/bin/env bash
# Thousands of files under a low open-file limit (ulimit -n 64): a pull, a
# merge (in one pass and as a tree), digests with sidecars and their check,
# and cap-info all succeed, and give exactly the packets and digests the
# files hold (counted independently: pcap_packets.py, sha256sum); asked for
# more jobs than the limit leaves room for, they run fewer, and fail none.
source "$(dirname "$0")/lib.sh"
need_cmd python3
need_cmd sha256sum
need_generator
here=$CAPTURE_SOURCE/tests/e2e
cd "$WORK"

N=3000
"$GEN" --out many --files "$N" --size 2K --seed 61 --quiet >/dev/null
files=(many/*)
check_eq "$N files" "$N" "${#files[@]}"
packets() { python3 "$here/pcap_packets.py" "$@"; }
packets "${files[@]}" >want
total=$(wc -l <want | tr -d ' ')
echo "$N files, $total packets"
# values KEY: the values of KEY in the records on stdin, one a line.
values() { awk -F'\t' -v k="$1=" '{ for (i = 1; i <= NF; i++) if (index($i, k) == 1) print substr($i, length(k) + 1) }'; }
# limited COMMAND...: runs COMMAND under ulimit -n 64, as run_tool does.
limited() { run_tool bash -c 'ulimit -n 64 && exec "$@"' limited "$@"; }

limited cap-pull --no-syslog -a f -e '' -r many -j 4 -w "$WORK/pulled.pcap"
check_eq "pull under ulimit -n 64: exit 0, nothing said" "0:" "$RC:$ERR"
check_eq "pull: every packet of every file, once" "$(md5sum <want)" "$(packets pulled.pcap | md5sum)"
check_eq "pull: the record counts them" "$total" "$(field packets "$OUT")"
limited cap-pull --no-syslog -a f -e 'tcp port 443' -r many -j 1 -w "$WORK/pulled443.pcap"
check_eq "a filtered pull, one worker: exit 0" "0:" "$RC:$ERR"
run_tool cap-pull --no-syslog -a f -e 'tcp port 443' -r many -j 1 -w "$WORK/unlimited443.pcap"
if cmp -s pulled443.pcap unlimited443.pcap; then ok "the same bytes as without the limit"; else fail "the limit changed the output"; fi

limited cap-merge --no-syslog -w "$WORK/merged.pcap" "${files[@]}"
check_eq "merge under ulimit -n 64: exit 0, nothing said" "0:" "$RC:$ERR"
check_eq "merge: every packet, once" "$(md5sum <want)" "$(packets merged.pcap | md5sum)"
check_eq "merge: the record counts them" "$total" "$(field packets "$OUT")"
limited cap-merge --no-syslog --max-open 16 -w "$WORK/tree.pcap" "${files[@]}"
check_eq "a tree merge (16 at once) under ulimit -n 64: exit 0" "0:" "$RC:$ERR"
if cmp -s merged.pcap tree.pcap; then ok "the tree gives the same bytes"; else fail "the tree merge differs"; fi
check_eq "no part left" "" "$(ls -A | grep '\.tmp$' || true)"

limited cap-hash --no-syslog --sidecar -j 8 "${files[@]}"
check_eq "hash and sidecars under ulimit -n 64: exit 0, nothing said" "0:" "$RC:$ERR"
check_eq "every digest is sha256sum's" "$(sha256sum "${files[@]}" | awk '{ print $1 }' | md5sum)" \
  "$(values sha256 <<<"$OUT" | md5sum)"
check_eq "$N sidecars" "$N" "$(ls many/*.sha256 | wc -l | tr -d ' ')"
(cd many && cat ./*.sha256 | sha256sum --quiet -c) && ok "sha256sum -c accepts every sidecar" || fail "a sidecar does not verify"
limited cap-hash --no-syslog --check -j 8 --quiet many/*.sha256
check_eq "--check of $N sidecars under ulimit -n 64: exit 0, nothing said" "0::" "$RC:$OUT:$ERR"

limited cap-info --no-syslog -j 8 "${files[@]}"
check_eq "cap-info under ulimit -n 64: exit 0, nothing said" "0:" "$RC:$ERR"
check_eq "cap-info: a record per file" "$N" "$(grep -c . <<<"$OUT")"
check_eq "cap-info: their packets add up" "$total" \
  "$(values packets <<<"$OUT" | awk '{ n += $1 } END { print n }')"

# More jobs asked for than descriptors left: fewer run, none fails.
rm -f many/*.sha256
run_tool bash -c 'ulimit -n 24 && exec "$@"' limited cap-hash --no-syslog --sidecar -j 64 "${files[@]}"
check_eq "-j 64 under ulimit -n 24: hash and sidecars, exit 0, nothing said" "0:$N" "$RC:$ERR$(grep -c . <<<"$OUT")"
run_tool bash -c 'ulimit -n 24 && exec "$@"' limited cap-info --no-syslog -j 64 "${files[@]}"
check_eq "-j 64 under ulimit -n 24: cap-info, exit 0, nothing said" "0:$N" "$RC:$ERR$(grep -c . <<<"$OUT")"
run_tool bash -c 'ulimit -n 24 && exec "$@"' limited cap-pull --no-syslog -a f -e '' -r many -j 64 -w "$WORK/p64.pcap"
check_eq "-j 64 under ulimit -n 24: pull, exit 0, nothing said" "0:" "$RC:$ERR"
check_eq "and every packet" "$(md5sum <want)" "$(packets p64.pcap | md5sum)"

finish
