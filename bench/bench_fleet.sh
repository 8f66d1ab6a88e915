#!/usr/bin/env bash
# A fleet pull (cap-pull --sensor) from 4 local sshd sensors, each with a
# 512 MiB archive of its own (page cache warm), against each sensor's pull
# on its own over ssh (`ssh SENSOR cap-pull ... -w - > FILE`, what an
# analyst does today): 3 runs each, alternating, and the medians. The
# issue's goal: the fleet pull takes no longer than the slowest single
# pull plus 20%.
#
# On one machine the four "sensors" share its cores with the puller, so
# the fleet pull also pays for four remote pulls and four ssh channels at
# once, where real sensors bring their own CPUs. The four single pulls run
# at the same time (4x ssh, no merge) measure that share; the fleet pull's
# own cpu (the merge, this host's ssh clients) says what the fleet costs
# here beyond it.
#
# Usage (as root: it starts sshd): bash bench/bench_fleet.sh [BUILD_DIR]
# Environment: BENCH_FILES (16 per archive), BENCH_SIZE (32M per file),
# BENCH_EXPR ('host 10.0.0.7'), BENCH_RUNS (3), TMPDIR.
name=bench_fleet
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root (it starts sshd instances on 127.0.0.2..5)"
[ -x /usr/sbin/sshd ] || die "needs /usr/sbin/sshd (openssh-server)"
files=${BENCH_FILES:-16}
size=${BENCH_SIZE:-32M}
expr=${BENCH_EXPR-host 10.0.0.7}  # BENCH_EXPR= (empty): all the traffic
cap_pull=$(tool cap-pull)
export CAPTURE_SYSLOG=off TZ=UTC
build=$(cd "$build" && pwd)
cap_pull=$build/cap-pull
WORK=$work CAPTURE_BIN=$build
source "$src/tests/e2e/fleet_lib.sh"
fleet_setup 4 || die "the sensors did not start"

# Four archives over the same span, different traffic.
all=()
for i in 1 2 3 4; do
  make_archive "$work/s$i/archive" "$files" "$size" --seed $((20 + i))
  mapfile -t -O "${#all[@]}" all < <(find "$work/s$i/archive" -maxdepth 1 -type f | sort)
done
total=$(cat "${all[@]}" | wc -c)
warm "${all[@]}"

ssh_cmd=(ssh -F "$work/ssh_config" -o BatchMode=yes)
single() { "${ssh_cmd[@]}" "s$1" "$cap_pull -a bench -d bench -e '$expr' -w -" >"$work/single$1.pcap"; }
fleet() { "$cap_pull" --config "$work/fleet.conf" --sensor @all -a bench -d bench -e "$expr" -w "$work/fleet.pcap"; }
together() {
  local i pids=()
  for i in 1 2 3 4; do single "$i" & pids+=($!); done
  for i in "${pids[@]}"; do wait "$i"; done
}
# wall_and_cpu CMD...: "WALL CPU" seconds (cpu of CMD and its children:
# for the fleet pull, this host's ssh clients; not the sshd side).
wall_and_cpu() {
  local TIMEFORMAT='%R %U %S' t
  t=$( { time "$@" >/dev/null; } 2>&1 )
  awk -v t="$t" 'BEGIN { split(t, f, " "); printf "%.3f %.3f\n", f[1], f[2] + f[3] }'
}

# The fleet's output is cap-merge's of the singles' (a check, not timed).
fleet >/dev/null
for i in 1 2 3 4; do single "$i"; done
"$(tool cap-merge)" -w "$work/merged.pcap" "$work"/single{1,2,3,4}.pcap >/dev/null
cmp -s "$work/fleet.pcap" "$work/merged.pcap" || die "the fleet pull and cap-merge over the single pulls disagree"
out_bytes=$(stat -c %s "$work/fleet.pcap")

declare -a s1 s2 s3 s4 f fc tg
for r in $(seq "$runs"); do
  for i in 1 2 3 4; do
    read -r w _ < <(wall_and_cpu single "$i")
    eval "s$i+=($w)"
  done
  read -r w c < <(wall_and_cpu fleet)
  f+=("$w") fc+=("$c")
  read -r w _ < <(wall_and_cpu together)
  tg+=("$w")
done
m1=$(median "${s1[@]}") m2=$(median "${s2[@]}") m3=$(median "${s3[@]}") m4=$(median "${s4[@]}")
mf=$(median "${f[@]}") mfc=$(median "${fc[@]}") mt=$(median "${tg[@]}")
slowest=$(printf '%s\n' "$m1" "$m2" "$m3" "$m4" | sort -g | tail -n1)

awk -v bytes="$total" -v out="$out_bytes" -v expr="$expr" -v cpu="$(nproc)" \
    -v load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')" \
    -v m1="$m1" -v m2="$m2" -v m3="$m3" -v m4="$m4" -v r1="${s1[*]}" -v r2="${s2[*]}" -v r3="${s3[*]}" -v r4="${s4[*]}" \
    -v mf="$mf" -v rf="${f[*]}" -v mfc="$mfc" -v mt="$mt" -v rt="${tg[*]}" -v slowest="$slowest" 'BEGIN {
  printf "sensors:   4 local sshd, %.0f MiB of archives in all, page cache warm; expression %s; %d cores, load %s\n", bytes / 1048576, expr, cpu, load
  printf "output:    %.1f MiB\n", out / 1048576
  printf "single s1: median %.3f s  (%s)\n", m1, r1
  printf "single s2: median %.3f s  (%s)\n", m2, r2
  printf "single s3: median %.3f s  (%s)\n", m3, r3
  printf "single s4: median %.3f s  (%s)\n", m4, r4
  printf "fleet:     median %.3f s  (%s)  cpu here %.3f s\n", mf, rf, mfc
  printf "4 singles at once (no merge): median %.3f s  (%s)\n", mt, rt
  printf "ratio:     fleet / slowest single = %.2f (goal <= 1.20); fleet / 4 singles at once = %.2f\n", mf / slowest, mf / mt
}'
