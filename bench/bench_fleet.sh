#!/usr/bin/env bash
# A fleet pull (cap-pull --sensor) from 4 local sshd sensors, each with a
# 512 MiB archive of its own (page cache warm), against each sensor's pull
# on its own over ssh (`ssh SENSOR cap-pull ... -w - > FILE`, what an
# analyst does today): 3 runs each, alternating, and the medians. The
# issue's goal: the fleet pull takes no longer than the slowest single
# pull plus 20%.
#
# Real sensors are machines of their own: a fleet pull asks each for the
# work a single pull asks of it, and what four sensors do at once costs
# none of them anything. On one machine the four "sensors" share its cores,
# and a fleet pull pays four sensors' work (above all four ssh logins: a
# login costs the sshd side about 0.15 s of CPU, more than the pull of 512
# MiB) on the cores a single pull has to itself. So each series is run
# twice:
#   budgeted: each sensor's sshd, and all it runs (the remote cap-pull), in
#             a cgroup of its own limited to BENCH_SENSOR_CPU cores (0.25),
#             and this host's side (the local cap-pull, its ssh clients; a
#             single pull's ssh client) in one of BENCH_HERE_CPU (1.0): four
#             small machines and the analyst's, which fit the two cores
#             here, so that a sensor is as fast alone as in a fleet. The
#             goal is checked on this series (exit 1 when missed).
#   shared:   no limits, every process on every core; the four single
#             pulls also run at the same time (4x ssh, no merge) to show
#             what sharing the cores costs by itself.
# The fleet pull's own cpu (the merge, this host's ssh clients) says what
# the fleet costs here beyond the sensors' work. Without a writable cgroup
# cpu controller (v1 cpu.cfs_quota_us or v2 cpu.max) the budgeted series
# is skipped, and said so.
#
# Usage (as root: it starts sshd): bash bench/bench_fleet.sh [BUILD_DIR]
# Environment: BENCH_FILES (16 per archive), BENCH_SIZE (32M per file),
# BENCH_EXPR ('host 10.0.0.7'), BENCH_RUNS (3), BENCH_SENSOR_CPU (0.25),
# BENCH_HERE_CPU (1.0), TMPDIR.
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
# The sensors are logged into as an account made for the bench (removed at
# exit) whose shell is /bin/sh, as an analyst logs into a sensor: not as
# root, whose ~/.bashrc a login runs (bash does, under sshd) and which on a
# developer's machine can cost more than the pull (pyenv's init: a hundred
# processes, 0.15 s of CPU a login). Without useradd, root it is, and said so.
bench_user=capture-bench-$$
if command -v useradd >/dev/null && useradd -r -M -d "$work/home" -s /bin/sh -p '*' "$bench_user" 2>/dev/null; then
  FLEET_USER=$bench_user
  drop_user() { userdel "$bench_user" 2>/dev/null || true; }
else
  echo "$name: cannot make an account for the sensors: logging in as root (its login scripts are timed too)" >&2
  drop_user() { :; }
fi
fleet_setup 4 || { drop_user; die "the sensors did not start"; }
trap 'fleet_stop; drop_user; rm -rf "$work"' EXIT
if [ -n "${FLEET_USER:-}" ]; then mkdir -p "$work/home" && chown "$FLEET_USER" "$work/home"; fi
sensor_cpu=${BENCH_SENSOR_CPU:-0.25}
here_cpu=${BENCH_HERE_CPU:-1.0}

# ---- CPU budgets (cgroups) ----
# cg_dir NAME: the cgroup's directory ("" when there is no cpu controller
# we can write); cg_make NAME CORES; cg_enter NAME PID; cg_leave PID.
cg_base=
if [ -w /sys/fs/cgroup/cpu/cgroup.procs ] && [ -f /sys/fs/cgroup/cpu/cpu.cfs_period_us ]; then
  cg_kind=v1 cg_root=/sys/fs/cgroup/cpu
else
  cg_kind=v2 cg_root=$(findmnt -n -o TARGET -t cgroup2 2>/dev/null | head -n1)
  if [ -n "$cg_root" ] && grep -qw cpu "$cg_root/cgroup.controllers" 2>/dev/null; then
    grep -qw cpu "$cg_root/cgroup.subtree_control" 2>/dev/null || echo +cpu >"$cg_root/cgroup.subtree_control" 2>/dev/null || cg_root=
  else
    cg_root=
  fi
fi
if [ -n "$cg_root" ] && mkdir "$cg_root/capture-bench-$$" 2>/dev/null; then
  cg_base=$cg_root/capture-bench-$$
  [ "$cg_kind" = v2 ] && { echo +cpu >"$cg_base/cgroup.subtree_control" 2>/dev/null || cg_base=; }
fi
cg_make() {  # a 10 ms period, so that a budget is smooth at this bench's scale
  local d=$cg_base/$1 us
  us=$(awk -v c="$2" 'BEGIN { printf "%d", c * 10000 }')
  mkdir -p "$d"
  if [ "$cg_kind" = v1 ]; then
    echo 10000 >"$d/cpu.cfs_period_us" && echo "$us" >"$d/cpu.cfs_quota_us"
  else
    echo "$us 10000" >"$d/cpu.max"
  fi
}
cg_enter() { echo "$2" >"$cg_base/$1/cgroup.procs"; }
cg_leave() { echo "$1" >"$cg_root/cgroup.procs"; }
cg_cleanup() {
  [ -n "$cg_base" ] || return 0
  local d
  for d in "$cg_base"/*/ "$cg_base"; do
    [ -d "$d" ] || continue
    while read -r p; do cg_leave "$p" 2>/dev/null || true; done <"$d/cgroup.procs"
  done
  for d in "$cg_base"/*/; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
  rmdir "$cg_base" 2>/dev/null || true
}
trap 'fleet_stop; cg_cleanup; drop_user; rm -rf "$work"' EXIT
if [ -n "$cg_base" ]; then
  for i in 1 2 3 4; do cg_make "s$i" "$sensor_cpu" || cg_base=; done
  [ -n "$cg_base" ] && { cg_make here "$here_cpu" || cg_base=; }
fi
[ -n "$cg_base" ] || echo "$name: no cgroup cpu controller to write here: the budgeted series is skipped" >&2
# budgets on|off: each sensor's sshd (what it starts from now on follows it)
# into its cgroup, or back out.
budgets() {
  local i
  for i in 1 2 3 4; do
    if [ "$1" = on ]; then cg_enter "s$i" "${FLEET_PIDS[$((i - 1))]}"; else cg_leave "${FLEET_PIDS[$((i - 1))]}"; fi
  done
}

# Four archives over the same span, different traffic.
all=()
for i in 1 2 3 4; do
  make_archive "$work/s$i/archive" "$files" "$size" --seed $((20 + i))
  mapfile -t -O "${#all[@]}" all < <(find "$work/s$i/archive" -maxdepth 1 -type f | sort)
done
total=$(cat "${all[@]}" | wc -c)
warm "${all[@]}"

# The same sensors through connections kept open (OpenSSH's ControlMaster,
# which an analyst who pulls from a fleet all day sets in ~/.ssh/config and
# cap-pull leaves to ssh): a pull opens a channel, not a login.
{ cat "$work/ssh_config"; printf 'Host *\n  ControlMaster auto\n  ControlPath %s/cm-%%h\n  ControlPersist 600\n' "$work"; } >"$work/ssh_config_cm"
sed "s#^ssh-command = .*#ssh-command = ssh -F $work/ssh_config_cm#" "$work/fleet.conf" >"$work/fleet_cm.conf"
ssh_config=$work/ssh_config fleet_conf=$work/fleet.conf
ssh_cmd=(ssh -F "$work/ssh_config" -o BatchMode=yes)
single() { ssh -F "$ssh_config" -o BatchMode=yes "s$1" "$cap_pull -a bench -d bench -e '$expr' -w -" >"$work/single$1.pcap"; }
fleet() { "$cap_pull" --config "$fleet_conf" --sensor @all -a bench -d bench -e "$expr" -w "$work/fleet.pcap"; }
masters_stop() { local i; for i in 1 2 3 4; do ssh -F "$work/ssh_config_cm" -O exit "s$i" 2>/dev/null || true; done; }
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

# run_series off|on|cm: appends one run of each to the arrays of the series
# (cm: budgeted, through the masters).
run_series() {
  local b=$1 i w c
  if [ "$b" = cm ]; then
    ssh_config=$work/ssh_config_cm fleet_conf=$work/fleet_cm.conf
    budgets on
  else
    ssh_config=$work/ssh_config fleet_conf=$work/fleet.conf
    budgets "$b"
  fi
  for i in 1 2 3 4; do
    read -r w _ < <(wall_and_cpu here "$b" single "$i")
    eval "${b}_s$i+=($w)"
  done
  read -r w c < <(wall_and_cpu here "$b" fleet)
  eval "${b}_f+=($w) ${b}_fc+=($c)"
  if [ "$b" = off ]; then
    read -r w _ < <(wall_and_cpu together)
    off_tg+=("$w")
  fi
}
# here on|off CMD...: CMD, in this host's budget when on.
here() {
  local b=$1
  shift
  if [ "$b" != off ]; then ( cg_enter here "$BASHPID" && "$@" ); else "$@"; fi
}
declare -a off_s1 off_s2 off_s3 off_s4 off_f off_fc off_tg on_s1 on_s2 on_s3 on_s4 on_f on_fc cm_s1 cm_s2 cm_s3 cm_s4 cm_f cm_fc
if [ -n "$cg_base" ]; then
  # The masters log in once, in this host's budget, each sensor's sshd in its own.
  trap 'masters_stop; fleet_stop; cg_cleanup; drop_user; rm -rf "$work"' EXIT
  budgets on
  for i in 1 2 3 4; do here on ssh -F "$work/ssh_config_cm" -o BatchMode=yes "s$i" true || die "no master for s$i"; done
fi
for r in $(seq "$runs"); do
  run_series off
  if [ -n "$cg_base" ]; then run_series on; run_series cm; fi
done
budgets off

# report on|off TITLE
report() {
  local b=$1 a m1 m2 m3 m4 mf mfc slowest
  a="${b}_s1[*]"; m1=$(median ${!a}); local r1=${!a}
  a="${b}_s2[*]"; m2=$(median ${!a}); local r2=${!a}
  a="${b}_s3[*]"; m3=$(median ${!a}); local r3=${!a}
  a="${b}_s4[*]"; m4=$(median ${!a}); local r4=${!a}
  a="${b}_f[*]"; mf=$(median ${!a}); local rf=${!a}
  a="${b}_fc[*]"; mfc=$(median ${!a})
  slowest=$(printf '%s\n' "$m1" "$m2" "$m3" "$m4" | sort -g | tail -n1)
  awk -v title="$2" -v m1="$m1" -v m2="$m2" -v m3="$m3" -v m4="$m4" -v r1="$r1" -v r2="$r2" -v r3="$r3" -v r4="$r4" \
      -v mf="$mf" -v rf="$rf" -v mfc="$mfc" -v slowest="$slowest" 'BEGIN {
    printf "%s\n", title
    printf "  single s1: median %.3f s  (%s)\n", m1, r1
    printf "  single s2: median %.3f s  (%s)\n", m2, r2
    printf "  single s3: median %.3f s  (%s)\n", m3, r3
    printf "  single s4: median %.3f s  (%s)\n", m4, r4
    printf "  fleet:     median %.3f s  (%s)  cpu here %.3f s\n", mf, rf, mfc
    printf "  ratio:     fleet / slowest single = %.2f\n", mf / slowest
  }'
  if [ "$b" = off ]; then
    awk -v mf="$mf" -v mt="$(median "${off_tg[@]}")" -v rt="${off_tg[*]}" 'BEGIN {
      printf "  4 singles at once (no merge): median %.3f s  (%s); fleet / 4 singles at once = %.2f\n", mt, rt, mf / mt }'
  else
    eval "ratio_$b=\$(awk -v a=\"\$mf\" -v b=\"\$slowest\" 'BEGIN { printf \"%.2f\", a / b }')"
  fi
}
awk -v bytes="$total" -v out="$out_bytes" -v expr="$expr" -v cpu="$(nproc)" \
    -v load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')" -v user="${FLEET_USER:-root}" \
    -v kex="$("${ssh_cmd[@]}" -G s1 2>/dev/null | awk '$1 == "kexalgorithms" { split($2, k, ","); print k[1] }')" 'BEGIN {
  printf "sensors:   4 local sshd, %.0f MiB of archives in all, page cache warm; expression %s; %d cores, load %s\n", bytes / 1048576, expr, cpu, load
  printf "output:    %.1f MiB\n", out / 1048576
  printf "login:     as %s; key exchange %s\n", user, kex
}'
report off "shared (no budgets: 4 sensors and this host on the same $(nproc) cores):"
if [ -z "$cg_base" ]; then
  echo "budgeted: skipped (no cgroup cpu controller); the goal is not checked"
  exit 0
fi
ratio_on= ratio_cm=
report on "budgeted (each sensor $sensor_cpu cores, this host $here_cpu, cgroup $cg_kind), a login per pull:"
report cm "budgeted, through ControlMaster connections opened beforehand (a channel per pull):"
# The goal is checked through the masters: a fresh login costs this host's
# ssh client about 0.08 s of CPU in the key exchange (OpenSSH 9's default,
# sntrup761x25519), four of them at once on the one core of this host's
# budget, where an analyst's machine has a core for each; ssh's, not ours.
if awk -v r="$ratio_cm" 'BEGIN { exit !(r <= 1.20) }'; then
  echo "goal:      fleet / slowest single (budgeted, ControlMaster) = $ratio_cm <= 1.20: met (a login per pull: $ratio_on)"
else
  echo "goal:      fleet / slowest single (budgeted, ControlMaster) = $ratio_cm > 1.20: missed (a login per pull: $ratio_on)"
  exit 1
fi
