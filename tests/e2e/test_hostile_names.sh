#!/usr/bin/env bash
# Analyst names, descriptions and expressions full of shell metacharacters,
# slashes and "..", leading dashes, newlines, escape sequences, bytes that
# are not UTF-8 and 100 kB of text, given to cap-merge and cap-pull (no root
# needed; test_live_hostile_names.sh does cap-start): the file made stays in
# the capture directory under a safe name (letters, digits, '.', '_', '-',
# never a leading '-' or '.', at most 255 bytes), the record keeps the text
# exactly, and the syslog line (a real receiver) carries it reversibly, as
# valid UTF-8 without a control character, one line per action.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/syslog_lib.sh"
export LC_ALL=C
trap 'stop_syslog; rm -rf "$WORK"' EXIT
start_syslog
export CAPTURE_DIR=$WORK/spool
good=$CAPTURE_SOURCE/tests/fuzz/seeds/fuzz_capture_reader/le_ns.pcap
mkdir -p "$WORK/archive" "$WORK/cwd"
cp "$good" "$WORK/archive/daemonlogger.pcap.1700000000"
cd "$WORK/cwd"

hostile=(
  '$(touch pwned)`touch pwned`;|&><*?[] ~!{}#'
  '../../../../etc/passwd'
  '-rf --help'
  $'two\nlines\tand a\rreturn'
  $'caf\xc3\xa9 \xff\xfe not utf-8 \xc2\x85 nel'
  $'\x1b]0;title\x07\x1b[2J escapes'
  '....'
  'a=b outcome=ok user="root" \ x'
  "$(head -c 100000 /dev/zero | tr '\0' d)"
)

# check_name WHAT PATH: PATH is a file right in the capture directory, under a safe name.
check_name() {
  local dir base
  dir=$(cd "$(dirname "$2")" && pwd -P)
  base=$(basename "$2")
  check_eq "$1: made in the capture directory" "$(cd "$CAPTURE_DIR" && pwd -P)" "$dir"
  check_match "$1: a safe name" '^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$' "$base"
  [ -f "$2" ] && ok "$1: the file is there" || fail "$1: no file at $2"
}

# check_audit WHAT LINE KEY VALUE: the audit LINE carries VALUE under KEY
# exactly (its first 1024 bytes and "+N" for the long one), and is valid
# UTF-8 without a control character.
check_audit() {
  local what=$1 line=$2 key=$3 value=$4
  if [ "${#value}" -gt 1024 ]; then
    check_match "$what: the long $key cut, saying how much" "$key=\"${value:0:1024}\"\\+$((${#value} - 1024))( |$)" "$line"
  else
    same_bytes "$what: $key logged exactly" "$value" audit_value "$line" "$key"
  fi
  if python3 -c 'import sys; t = sys.argv[1].encode("utf-8", "surrogateescape").decode("utf-8"); sys.exit(any(ord(c) < 32 or 127 <= ord(c) < 160 for c in t))' "$line" 2>/dev/null; then
    ok "$what: the line is valid UTF-8 without control characters"
  else
    fail "$what: the line is not clean UTF-8 text"
  fi
}

n=0
for v in "${hostile[@]}"; do
  n=$((n + 1))
  label="value $n"

  # cap-merge, into the capture directory under the naming convention.
  before=$(syslog_count 'action=merge')
  run_tool cap-merge --records --analyst="$v" --description="$v" "$good"
  check_eq "cap-merge, $label: done" 0 "$RC"
  file=$(record_value "$OUT" file)
  check_name "cap-merge, $label" "$file"
  same_bytes "cap-merge, $label: the record keeps the analyst" "$v" record_value "$OUT" analyst
  same_bytes "cap-merge, $label: the record keeps the description" "$v" record_value "$OUT" desc
  check_eq "cap-merge, $label: one audit line" $((before + 1)) "$(syslog_count 'action=merge' $((before + 1)))"
  line=$(syslog_lines 'action=merge' | tail -n 1)
  check_audit "cap-merge, $label" "$line" analyst "$v"

  # cap-pull, the same, and its record beside its file.
  before=$(syslog_count 'action=pull outcome=ok')
  run_tool cap-pull --records -r "$WORK/archive" -e '' --analyst="$v" --description="$v"
  check_eq "cap-pull, $label: done" 0 "$RC"
  file=$(record_value "$OUT" file)
  check_name "cap-pull, $label" "$file"
  same_bytes "cap-pull, $label: the record keeps the description" "$v" record_value "$OUT" desc
  same_bytes "cap-pull, $label: the record file keeps it too" "$v" record_value "$(cat "$file.record")" desc
  check_eq "cap-pull, $label: one audit line for its end" $((before + 1)) \
    "$(syslog_count 'action=pull outcome=ok' $((before + 1)))"
  line=$(syslog_lines 'action=pull outcome=ok' | tail -n 1)
  check_audit "cap-pull, $label" "$line" analyst "$v"
done

# Expressions: a hostile one is refused with libpcap's words before anything
# exists; an odd but valid one (newlines, tabs) is kept exactly.
files_before=$(find "$WORK" -path "$WORK/syslog.txt" -prune -o -print | sort)
for v in "${hostile[@]:0:8}"; do
  run_tool cap-pull -r "$WORK/archive" -e "$v"
  check_eq "cap-pull -e hostile: refused as a usage error" 2 "$RC"
done
check_match "cap-pull -e hostile: in libpcap's words" "cap-pull: .*(syntax error|illegal|unknown|parse)" "$ERR"
check_eq "cap-pull -e hostile: nothing made, anywhere" "$files_before" \
  "$(find "$WORK" -path "$WORK/syslog.txt" -prune -o -print | sort)"
odd=$'udp\nand\tport 53 or not  (tcp)'
run_tool cap-pull --records -r "$WORK/archive" -e "$odd"
check_eq "cap-pull, an expression with newlines: done" 0 "$RC"
same_bytes "cap-pull: the record keeps the expression" "$odd" record_value "$OUT" expr
check_name "cap-pull, an expression with newlines" "$(record_value "$OUT" file)"
check_audit "cap-pull, an expression with newlines" "$(syslog_lines 'action=pull outcome=ok' | tail -n 1)" expr "$odd"

[ ! -e "$WORK/cwd/pwned" ] && ok "no metacharacter was ever run" || fail "a metacharacter was run"
check_eq "nothing but captures and records in the capture directory" "" \
  "$(ls -A "$CAPTURE_DIR" | grep -Ev '^[A-Za-z0-9][A-Za-z0-9._-]*(\.record)?$' || true)"
check_eq "no audit line was split" 0 "$(grep -acEv '^<[0-9]+>' "$SYSLOG_FILE" || true)"

finish
