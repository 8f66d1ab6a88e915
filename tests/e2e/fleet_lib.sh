# Real sshd sensors for fleet pulls (cap-pull --sensor), for the e2e test
# and the bench. Source after lib.sh (or set WORK, CAPTURE_BIN yourself).
#
# fleet_setup N: starts N sshd instances on 127.0.0.2 .. 127.0.0.(N+1), one
# port for all, each with host keys of its own and SetEnv CAPTURE_CONF
# pointing at $WORK/sN/capture.conf (archive $WORK/sN/archive), so that the
# remote cap-pull of each reads its own archive. Writes $WORK/ssh_config
# (Host s1 .. sN, the client key, $WORK/known_hosts filled by ssh-keyscan,
# StrictHostKeyChecking yes) and $WORK/fleet.conf (ssh-command, sensor-command,
# sensors). Waits, bounded, for each sshd to answer. fleet_stop kills them;
# fleet_setup sets the trap. With FLEET_USER set (an existing account), the
# sensors are logged into as that user rather than root: $WORK is opened to
# it and each sensor's capture directory is its own.

FLEET_PIDS=()
fleet_stop() {
  local p
  for p in "${FLEET_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${FLEET_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  FLEET_PIDS=()
}

# A port that nothing on 127.0.0.2 listens on now (bash's /dev/tcp connect fails).
fleet_port() {
  local p
  for p in $(seq $((20000 + $$ % 20000)) $((20100 + $$ % 20000))); do
    (exec 3<>"/dev/tcp/127.0.0.2/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo 22222
}

fleet_setup() {
  local n=$1 i addr
  mkdir -p /run/sshd  # sshd's privilege separation directory
  trap 'fleet_stop; rm -rf "$WORK"' EXIT
  ssh-keygen -q -t ed25519 -N '' -C fleet-test -f "$WORK/client_key"
  cp "$WORK/client_key.pub" "$WORK/authorized_keys"
  if [ -n "${FLEET_USER:-}" ]; then
    chmod 755 "$WORK"
    chmod 644 "$WORK/authorized_keys"  # sshd reads it as the user
  fi
  FLEET_PORT=$(fleet_port)
  : >"$WORK/known_hosts"
  : >"$WORK/ssh_config"
  for i in $(seq "$n"); do
    addr=127.0.0.$((i + 1))
    mkdir -p "$WORK/s$i/archive" "$WORK/s$i/caps"
    [ -z "${FLEET_USER:-}" ] || chown "$FLEET_USER" "$WORK/s$i/caps"
    ssh-keygen -q -t ed25519 -N '' -f "$WORK/s$i/host_key"
    cat >"$WORK/s$i/capture.conf" <<EOF
archive = $WORK/s$i/archive
dir = $WORK/s$i/caps
syslog = off
EOF
    cat >"$WORK/s$i/sshd_config" <<EOF
HostKey $WORK/s$i/host_key
AuthorizedKeysFile $WORK/authorized_keys
StrictModes no
PidFile $WORK/s$i/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
SetEnv CAPTURE_CONF=$WORK/s$i/capture.conf TZ=UTC
EOF
    /usr/sbin/sshd -D -e -f "$WORK/s$i/sshd_config" -o ListenAddress=$addr -p "$FLEET_PORT" \
      2>"$WORK/s$i/sshd.log" &
    FLEET_PIDS+=($!)
    cat >>"$WORK/ssh_config" <<EOF
Host s$i
  HostName $addr
EOF
  done
  cat >>"$WORK/ssh_config" <<EOF
Host *
  Port $FLEET_PORT
  User ${FLEET_USER:-root}
  IdentityFile $WORK/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $WORK/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  LogLevel ERROR
EOF
  # Ready when it answers with its host key: at most 10 s each.
  for i in $(seq "$n"); do
    addr=127.0.0.$((i + 1))
    local got=
    for _ in $(seq 100); do
      if ssh-keyscan -T 1 -t ed25519 -p "$FLEET_PORT" "$addr" >"$WORK/s$i/keyscan" 2>/dev/null &&
        [ -s "$WORK/s$i/keyscan" ]; then got=1; break; fi
      kill -0 "${FLEET_PIDS[$((i - 1))]}" 2>/dev/null || break
      sleep 0.1
    done
    if [ -z "$got" ]; then cat "$WORK/s$i/sshd.log" >&2; echo "sshd s$i did not start" >&2; return 1; fi
    cat "$WORK/s$i/keyscan" >>"$WORK/known_hosts"
  done
  cat >"$WORK/fleet.conf" <<EOF
syslog = off
dir = $WORK/caps
ssh-command = ssh -F $WORK/ssh_config
sensor-command = $CAPTURE_BIN/cap-pull
sensors = $(for i in $(seq "$n"); do printf 's%s ' "$i"; done)
EOF
  mkdir -p "$WORK/caps"
}

# fleet_descendants PID: every process below PID.
fleet_descendants() {
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$c"
    fleet_descendants "$c"
  done
}
