#!/usr/bin/env bash
# cap-index and cap-pull through the index: every expression of a list
# pulled both ways (index, --no-index scan) gives the same bytes, on a
# synthetic archive (VLAN-tagged and IPv6 traffic among it) and on the
# corpus files cap-index takes (read in place: the indexes go to an index
# directory); -n says which path and why; stale captures (grown, rewritten
# at the same size and mtime, truncated) and a corrupt index are said and
# scanned, never answered from; cap-info describes a sidecar.
source "$(dirname "$0")/lib.sh"
need_generator
cd "$WORK"

"$GEN" --out arch --files 4 --size 2M --seed 7 --vlan-fraction 0.2 --quiet >/dev/null
run_tool cap-index -r arch
check_eq "cap-index -r exits 0" 0 "$RC"
check_eq "one record per file indexed" 4 "$(grep -c . <<<"$OUT")"
first=$(head -n1 <<<"$OUT")
check_match "the record names file, index, packets, blocks, keys, bytes" \
  'file=arch/.*index=arch/\..*\.cidx.*packets=[1-9].*blocks=[1-9].*keys=[1-9].*bytes=[1-9].*index_bytes=[1-9]' "$first"
run_tool cap-index -r arch
check_eq "run again: nothing to index, exit 0" "0/" "$RC/$OUT"
run_tool cap-index --json -r arch/nothing-here
check_eq "a missing archive directory: exit 1" 1 "$RC"

# both_ways NAME ARCHIVE EXPR [OPTIONS...]: pulls EXPR through the index and
# by a scan; the same bytes, and -n names the index.
both_ways() {
  local name=$1 archive=$2 expr=$3
  shift 3
  run_tool cap-pull "$@" -r "$archive" -e "$expr" -w "$WORK/idx.out"
  local rc_index=$RC err_index=$ERR
  run_tool cap-pull "$@" --no-index -r "$archive" -e "$expr" -w "$WORK/scan.out"
  check_eq "$name: '$expr': same exit status both ways" "$RC" "$rc_index"
  if cmp -s "$WORK/idx.out" "$WORK/scan.out"; then
    ok "$name: '$expr': the same bytes both ways ($(stat -c %s "$WORK/idx.out") bytes)"
  else
    fail "$name: '$expr': index and scan differ [$err_index]"
  fi
}

exprs=('host 10.0.0.7' 'src host 10.0.0.7' 'net 10.0.0.0/24' 'net 192.0.2.0/25' 'port 53' 'dst port 443'
  'tcp port 80' 'tcp and host 10.0.0.7 and host 192.0.2.1 and port 59163 and port 45526' 'udp' 'icmp' 'ip proto 17' 'ip' 'ip6' 'icmp6'
  'vlan' 'vlan and host 10.0.0.7' 'host 2001:db8:10f::3f' 'host 2001:db8::1' 'ip6 and net 2001:db8::/32 and tcp'
  '(host 10.0.0.7 && icmp) and host 192.0.2.94' 'host 10.0.0.7 or port 53' 'not tcp')
for e in "${exprs[@]}"; do both_ways synthetic arch "$e"; done
both_ways "synthetic --vlan" arch 'host 10.0.0.7 and tcp' --vlan
both_ways "synthetic window" arch 'host 10.0.0.7' --since @1700000001.5 --until @1700000002.5
both_ways "synthetic window" arch 'tcp' --since @1700000001.5 --until @1700000002.5

run_tool cap-pull -r arch -e 'host 192.0.2.94' -w idx.out
read_index=$(field read_bytes "$OUT")
run_tool cap-pull --no-index -r arch -e 'host 192.0.2.94' -w scan.out
read_scan=$(field read_bytes "$OUT")
if [ "$read_index" -lt $((read_scan / 4)) ]; then ok "through the index it reads $read_index of $read_scan bytes"
else fail "through the index it read $read_index bytes, the scan $read_scan"; fi
run_tool cap-pull -n -r arch -e 'host 10.0.0.7 and port 443'
check_match "-n says the index is the path" '# path: index \(4 of 4 files' "$OUT"
check_match "-n says how much of each file" 'read=index	why=index: [0-9]+ of [0-9]+ blocks' "$OUT"
run_tool cap-pull -n -r arch -e 'host 10.0.0.7 or port 53'
check_match "-n: 'or' is scanned, and says why" "# path: scan \\('or' is not narrowed by the index\\)" "$OUT"
run_tool cap-pull -n --no-index -r arch -e 'host 10.0.0.7'
check_match "-n --no-index: a scan" '# path: scan \(--no-index\)' "$OUT"

# cap-info on a sidecar.
side=$(ls arch/.*.cidx | head -n1)
run_tool cap-info "$side"
check_eq "cap-info on a sidecar exits 0" 0 "$RC"
check_match "cap-info describes the sidecar" 'kind=index.*blocks=[1-9].*keys=[1-9].*ratio=.*fresh=yes' "$OUT"

# Stale and corrupt: said, then scanned.
files=(arch/daemonlogger.pcap.*)
cp -p "${files[1]}" saved.pcap
head -c 100 "${files[3]}" | tail -c 16 >>"${files[1]}"
run_tool cap-pull -r arch -e 'host 10.0.0.7' -w idx.out
check_match "a grown capture: its index is stale" "stale index: the capture grew since it was indexed" "$ERR"
both_ways "grown" arch 'host 10.0.0.7'
cp -p saved.pcap "${files[1]}"
# Rewritten at the same size, its mtime put back: the digest tells.
size=$(stat -c %s "${files[1]}")
stamp=$(stat -c %y "${files[1]}")
"$GEN" --out other --files 1 --size 3M --seed 99 --quiet >/dev/null
head -c "$size" other/* >"${files[1]}"
touch -d "$stamp" "${files[1]}"
run_tool cap-pull -r arch -e 'host 10.0.0.7' -w idx.out
check_match "rewritten, same size and mtime: stale" "stale index: the capture's bytes changed since it was indexed" "$ERR"
both_ways "rewritten" arch 'host 10.0.0.7'
cp -p saved.pcap "${files[1]}"
truncate -s $((size - 5000)) "${files[1]}"
run_tool cap-pull -r arch -e 'host 10.0.0.7' -w idx.out
check_match "truncated: stale" "stale index: the capture is shorter than when it was indexed" "$ERR"
both_ways "truncated" arch 'host 10.0.0.7'
cp -p saved.pcap "${files[1]}"
run_tool cap-pull -r arch -e 'host 10.0.0.7' -w idx.out
check_eq "put back: no word of the index" "0/" "$RC/$ERR"
side1="arch/.${files[2]##*/}.cidx"
printf '\x55' | dd of="$side1" bs=1 seek=300 conv=notrunc status=none
run_tool cap-pull -r arch -e 'port 53' -w idx.out
check_match "a damaged index is corrupt, and the file scanned" "corrupt index: .*; scanning" "$ERR"
both_ways "corrupt" arch 'port 53'
rm -f "$side1"
run_tool cap-pull -r arch -e 'host 10.0.0.7' -w idx.out
check_match "a missing index among indexed files is said" "no index \\(cap-index\\); scanning it" "$ERR"
run_tool cap-index -r arch
check_eq "cap-index writes the missing one again" 1 "$(grep -c . <<<"$OUT")"

# An index directory, for an archive one may not write into.
"$GEN" --out ro --files 2 --size 1M --seed 5 --quiet >/dev/null
chmod a-w ro
run_tool cap-index -r ro --index-dir "$WORK/idxdir"
check_eq "--index-dir: indexed" "0/2" "$RC/$(grep -c . <<<"$OUT")"
check_eq "nothing written into the archive" 0 "$(ls -A ro | grep -c cidx || true)"
run_tool cap-pull -n -r ro --index-dir "$WORK/idxdir" -e 'host 10.0.0.7'
check_match "cap-pull finds them with --index-dir" '# path: index \(2 of 2' "$OUT"
printf 'index-dir = %s/idxdir\n' "$WORK" >idx.conf
run_tool cap-pull --config idx.conf -n -r ro -e 'host 10.0.0.7'
check_match "and with the index-dir key" '# path: index \(2 of 2' "$OUT"
both_ways "index-dir" ro 'host 10.0.0.7 and tcp' --index-dir "$WORK/idxdir"
chmod u+w ro

# The corpus, read in place: every file cap-index takes, in one archive of links.
if [ -d "$CAPTURE_CORPUS/tcpdump" ]; then
  mkdir corpus
  for f in "$CAPTURE_CORPUS"/tcpdump/*; do ln -s "$f" corpus/; done
  run_tool cap-index --index-dir "$WORK/cidx" corpus/*
  taken=$(grep -c . <<<"$OUT" || true)
  if [ "$taken" -gt 100 ]; then ok "cap-index takes $taken corpus files"; else fail "cap-index took only $taken corpus files"; fi
  mkdir corpus_ip
  while IFS= read -r line; do
    f=$(field file "$line")
    ln -s "$(readlink "$f")" corpus_ip/
  done <<<"$OUT"
  run_tool cap-index --index-dir "$WORK/cidx" -r corpus_ip
  for e in 'ip' 'ip6' 'tcp' 'udp' 'icmp' 'port 53' 'port 80' 'tcp and port 80' 'vlan' 'net 10.0.0.0/8' \
    'host 192.168.1.1' 'udp and net 192.168.0.0/16' 'icmp6 and net fe80::/10' 'ip proto 47'; do
    both_ways corpus corpus_ip "$e" --index-dir "$WORK/cidx" -F pcapng
  done
  # Hosts the corpus files really hold.
  n=0
  for f in corpus_ip/*; do
    h=$(tcpdump -nn -r "$f" -c 1 ip 2>/dev/null | awk '{print $3}' | cut -d. -f1-4 || true)
    [[ $h =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || continue
    both_ways "corpus host" corpus_ip "host $h" --index-dir "$WORK/cidx" -F pcapng
    n=$((n + 1))
    [ "$n" -ge 6 ] && break
  done
else
  echo "note: no corpus at $CAPTURE_CORPUS: its files are not pulled both ways"
fi
finish
