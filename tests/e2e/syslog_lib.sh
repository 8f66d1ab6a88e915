# A real syslog receiver for the audit tests. Source after lib.sh.
#
# start_syslog binds a unix datagram socket at $WORK/log.sock, as syslogd
# binds /dev/log, and appends every datagram received to $SYSLOG_FILE as
# one line (audit lines never hold a raw newline, so a line is a datagram);
# it points the tools at it (CAPTURE_SYSLOG=on, CAPTURE_SYSLOG_SOCKET). The
# receiver ends by itself after 120 s without a datagram, and stop_syslog
# ends it at once (call it from the test's EXIT trap).
SYSLOG_SOCKET=$WORK/log.sock
SYSLOG_FILE=$WORK/syslog.txt
SYSLOG_PID=

start_syslog() {
  need_cmd python3
  python3 - "$SYSLOG_SOCKET" "$SYSLOG_FILE" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.settimeout(120)
with open(sys.argv[2], "ab", buffering=0) as out:
    open(sys.argv[2] + ".ready", "w").close()
    while True:
        try:
            data = s.recv(1 << 20)
        except socket.timeout:
            break
        out.write(data + b"\n")
EOF
  SYSLOG_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    [ -e "$SYSLOG_FILE.ready" ] && break
    sleep 0.05
  done
  [ -e "$SYSLOG_FILE.ready" ] || skip "the syslog receiver did not start"
  export CAPTURE_SYSLOG=on CAPTURE_SYSLOG_SOCKET="$SYSLOG_SOCKET"
}

stop_syslog() { [ -z "$SYSLOG_PID" ] || kill "$SYSLOG_PID" 2>/dev/null || true; }

# syslog_lines PATTERN: the lines received so far that match PATTERN (ERE),
# after waiting (bounded) for a datagram sent just before to arrive.
syslog_lines() {
  local i
  for ((i = 0; i < 40; i++)); do
    grep -aEq -- "$1" "$SYSLOG_FILE" 2>/dev/null && break
    sleep 0.05
  done
  grep -aE -- "$1" "$SYSLOG_FILE" 2>/dev/null || true
}

# syslog_count PATTERN [AT_LEAST]: how many lines received match PATTERN,
# after waiting (bounded) until there are AT_LEAST of them.
syslog_count() {
  local i n
  for ((i = 0; i < 100; i++)); do
    n=$(grep -acE -- "$1" "$SYSLOG_FILE" 2>/dev/null || true)
    [ "${n:-0}" -ge "${2:-0}" ] && break
    sleep 0.05
  done
  echo "${n:-0}"
}

# audit_value LINE KEY: the value of KEY in an audit line, unquoted (\" \\
# \xNN read back as the bytes they stand for), written to stdout as bytes.
# (Lines go through stdin: a record can be longer than one argument may be.)
audit_value() { python3 -c "$_audit_value_py" "$2" <<<"$1"; }
_audit_value_py='
import re, sys
line, key = sys.stdin.buffer.read().rstrip(b"\n"), sys.argv[1].encode()
m = re.search(rb"(?:^| )" + re.escape(key) + rb"=(\"(?:[^\"\\]|\\.)*\"(?:\+\d+)?|[^ ]*)", line)
if not m:
    sys.exit(1)
v = m.group(1)
if v.startswith(b"\""):
    body = v[1:v.rindex(b"\"")]
    v = re.sub(rb"\\x([0-9a-f]{2})|\\(.)",
               lambda g: bytes([int(g.group(1), 16)]) if g.group(1) else g.group(2), body)
sys.stdout.buffer.write(v)
'

# record_value LINE KEY: the value of KEY in a record line, unescaped (\\ \t
# \n \r), written to stdout as bytes: the exact text a tool was given.
record_value() { python3 -c "$_record_value_py" "$2" <<<"$1"; }
_record_value_py='
import sys
line, key = sys.stdin.buffer.read().rstrip(b"\n"), sys.argv[1].encode()
escapes = {b"\\": b"\\", b"t": b"\t", b"n": b"\n", b"r": b"\r"}
for field in line.split(b"\t"):
    k, _, v = field.partition(b"=")
    if k == key:
        out, i = bytearray(), 0
        while i < len(v):
            if v[i:i + 1] == b"\\" and v[i + 1:i + 2] in escapes:
                out += escapes[v[i + 1:i + 2]]
                i += 2
            else:
                out += v[i:i + 1]
                i += 1
        sys.stdout.buffer.write(bytes(out))
        sys.exit(0)
sys.exit(1)
'

# same_bytes WHAT EXPECTED ACTUAL-COMMAND...: checks that the command writes
# exactly EXPECTED (compared as files: no trailing newline is lost).
same_bytes() {
  local what=$1 expected=$2
  shift 2
  printf '%s' "$expected" >"$WORK/.expected"
  "$@" >"$WORK/.actual" 2>/dev/null || true
  if cmp -s "$WORK/.expected" "$WORK/.actual"; then ok "$what"; else
    fail "$what: expected $(head -c 60 "$WORK/.expected" | od -An -c | tr -s ' \n' ' '), got $(head -c 60 "$WORK/.actual" | od -An -c | tr -s ' \n' ' ')"
  fi
}
