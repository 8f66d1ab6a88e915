#!/usr/bin/env bash
# The bash completion (completions/capture.bash), driven as readline drives
# it: COMP_WORDS, COMP_CWORD, COMP_LINE and COMP_POINT set, the function that
# `complete` registered for the command called, COMPREPLY read. Every case
# runs in a fresh bash, with bash-completion's helpers loaded and without.
# Tools not built yet are stood in for by a stub that answers --list-options
# and --help the way the shared runner does; the real ones are checked too
# once they exist (until then the test says SKIP and exits 77).
source "$(dirname "$0")/lib.sh"
script=$CAPTURE_SOURCE/completions/capture.bash
helpers=/usr/share/bash-completion/bash_completion
[ -r "$script" ] || { fail "no $script"; finish; exit; }
modes=(plain)
if [ -r "$helpers" ]; then
  modes+=(helpers)
else
  echo "note: $helpers absent: testing without bash-completion's helpers only"
fi
SKIPPED=()

# The driver: splits LINE as readline does (words at blanks; '=' is a word of
# its own), sets COMP_*, calls the registered function, prints COMPREPLY.
cat >"$WORK/drive.bash" <<'EOF'
mode=$1 script=$2 line=$3
if [[ $mode == helpers ]]; then source /usr/share/bash-completion/bash_completion; fi
source "$script"
read -ra tokens <<<"$line"
COMP_WORDS=()
for t in "${tokens[@]}"; do
  while [[ $t == *=* ]]; do COMP_WORDS+=("${t%%=*}" "="); t=${t#*=}; done
  [[ -n $t ]] && COMP_WORDS+=("$t")
done
[[ $line == *' ' || $line == *= ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}
COMP_TYPE=9
COMP_KEY=9
spec=$(complete -p "${COMP_WORDS[0]##*/}" 2>/dev/null) || { echo "NOT REGISTERED"; exit; }
func=${spec#*-F }
func=${func%% *}
for ((n = 0; n < ${REPEAT:-1}; n++)); do
  COMPREPLY=()
  "$func" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]-}"
done
((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}"
exit 0
EOF

# candidates MODE LINE: the completions for LINE (cursor at the end), sorted,
# on one line; run in $WORK/files.
candidates() {
  (cd "$WORK/files" && bash --norc --noprofile "$WORK/drive.bash" "$1" "$script" "$2" 2>"$WORK/.comp-stderr") |
    LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
  if [ -s "$WORK/.comp-stderr" ]; then fail "[$1] '$2' wrote to stderr: $(cat "$WORK/.comp-stderr")"; fi
}
# each_mode WHAT LINE EXPECTED: the candidates are exactly EXPECTED, in every mode.
each_mode() {
  local mode
  for mode in "${modes[@]}"; do check_eq "[$mode] $1" "$3" "$(candidates "$mode" "$2")"; done
}

# Files to complete.
mkdir -p "$WORK/files/d/sub" "$WORK/files/d/.hidden-dir"
touch "$WORK/files/d/a.pcap" "$WORK/files/d/b.pcapng" "$WORK/files/d/c.cap" "$WORK/files/d/D.PCAP" \
  "$WORK/files/d/notes.txt" "$WORK/files/d/SHA256SUMS"

# A capture directory, named as cap-start names files.
caps=$WORK/captures
mkdir -p "$caps" "$WORK/other"
touch "$caps/grant_x_Tue.Feb17.2009-20.20.22.UTC_1234902022_.pcap" \
  "$caps/grant_traffic.to.example.com_Wed.Feb18.2009-10.00.00.UTC_1234951200_.pcap" \
  "$caps/alice_dns_Tue.Feb17.2009-20.20.22.UTC_1234902022_.past.pcap" \
  "$caps/bob.pcap" "$caps/carol_notes.txt"
touch "$WORK/other/zed_y_Tue.Feb17.2009-20.20.22.UTC_1234902022_.pcap"
export CAPTURE_DIR=$caps

# A stand-in tool, answering as the shared runner does (cli.hpp).
mkdir -p "$WORK/stub"
cat >"$WORK/stub/cap-ls" <<'EOF'
#!/bin/sh
case $1 in
--list-options) printf '%s\n' -f --analyst -a --all -e --expression -i --interface -F --format -w --write --dir --records -h --help ;;
--help)
  cat <<'HELP'
Usage: cap-ls [OPTION]...
A stand-in for the tests.

Options:
  -f [ --analyst ] NAME  only this analyst's captures
  -a [ --all ]           every capture, stopped ones too
  -e [ --expression ] EXPR
                         the expression
  -i [ --interface ] IFACE
                         the interface
  -F [ --format ] FORMAT pcap or pcapng
  -w [ --write ] FILE    where to write

Common options:
  --dir DIR              capture directory
  --records              write records even on a terminal
  -h [ --help ]          show this help and exit

See cap-ls(1) for the whole story.
HELP
  ;;
--records)
  printf 'id=grant-1234902022\tkind=live\tstate=running\tanalyst=grant\n'
  printf '# a comment\n\n'
  printf 'id=alice-1234951200\tkind=pull\tstate=running\n'
  ;;
esac
EOF
chmod +x "$WORK/stub/cap-ls"
for t in cap-stop cap-start; do cp "$WORK/stub/cap-ls" "$WORK/stub/$t"; done
stub=$WORK/stub
# Another cap-stop, whose -w is --wait SECONDS (as cap-merge's is --write FILE).
mkdir -p "$WORK/stub2"
cp "$stub/cap-ls" "$WORK/stub2/cap-ls"
cat >"$WORK/stub2/cap-stop" <<'EOF'
#!/bin/sh
case $1 in
--list-options) printf '%s\n' -f --analyst -w --wait --dir -h --help ;;
--help) printf '%s\n' 'Usage: cap-stop [OPTION]... [ID]...' '' 'Options:' \
  "  -f [ --analyst ] ANALYST  stop this analyst's running captures (repeatable)" \
  '  -w [ --wait ] SECONDS     wait at most this long' '' 'Common options:' \
  '  --dir DIR                 capture directory' '  -h [ --help ]             show this help and exit' ;;
esac
EOF
chmod +x "$WORK/stub2/cap-stop"
stub2=$WORK/stub2

# Every tool is registered to the one function.
for mode in "${modes[@]}"; do
  for t in cap-info cap-hash cap-start cap-ls cap-stop cap-pull cap-merge; do
    out=$(bash --norc --noprofile -c '[[ $1 == helpers ]] && source /usr/share/bash-completion/bash_completion
      source "$2"; complete -p "$3"' _ "$mode" "$script" "$t" 2>&1)
    check_eq "[$mode] $t is completed by _capture" "complete -F _capture $t" "$out"
  done
done

# bash-completion loads completions/NAME on the first TAB after NAME: the
# same file installed under a tool's name registers every tool.
if [ -r "$helpers" ]; then
  mkdir -p "$WORK/bc/completions"
  cp "$script" "$WORK/bc/completions/cap-merge"
  out=$(BASH_COMPLETION_USER_DIR=$WORK/bc bash --norc --noprofile -c 'source "$1"
    if declare -F __load_completion >/dev/null; then __load_completion cap-merge; else _comp_load cap-merge; fi
    complete -p cap-merge cap-info' _ "$helpers" 2>&1)
  check_eq "bash-completion's loader finds completions/cap-merge" \
    "complete -F _capture cap-merge
complete -F _capture cap-info" "$out"
fi

# Options: every spelling the tool gives, and only those.
want=$(cap-hash --list-options | grep -- '^--' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
each_mode "cap-hash -- gives its long options" "cap-hash --" "$want"
want=$(cap-hash --list-options | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
each_mode "cap-hash - gives all its options" "cap-hash -" "$want"
each_mode "cap-hash --al gives --algo" "cap-hash --al" "--algo"
each_mode "cap-info --al gives nothing (no such option)" "cap-info --al" ""
each_mode "options after -- are operands" "cap-info -- --j" ""

# --algo: digest names cap-hash accepts.
each_mode "--algo sha3- gives the SHA-3 digests" "cap-hash --algo sha3-" "sha3-224 sha3-256 sha3-384 sha3-512"
for mode in "${modes[@]}"; do
  got=$(candidates "$mode" "cap-hash --algo s")
  check_match "[$mode] --algo s gives sha256, sha512, sha1" '(^| )sha1( .*)? sha256( .*)? sha512( |$)' "$got"
  check_match "[$mode] --algo s gives only names starting with s" '^(s[^ ]*( |$))+$' "$got"
  check_eq "[$mode] --algo=sha25 (one word with =) gives sha256" "sha256" "$(candidates "$mode" "cap-hash --algo=sha25")"
  check_eq "[$mode] --algo= gives the names --algo gives" \
    "$(candidates "$mode" "cap-hash --algo ")" "$(candidates "$mode" "cap-hash --algo=")"
done
echo data >"$WORK/x.bin"
rejected=
for d in $(candidates plain "cap-hash --algo "); do
  CAPTURE_SYSLOG=off cap-hash --no-syslog --algo "$d" "$WORK/x.bin" >/dev/null 2>&1 || rejected+=" $d"
done
check_eq "cap-hash accepts every digest offered" "" "$rejected"
if command -v openssl >/dev/null; then
  nopenssl=$(PATH=/nonexistent /bin/bash --norc --noprofile -c 'source "$1"; cur=sha; COMPREPLY=(); _capture_digests; echo "${COMPREPLY[*]}"' _ "$script")
  check_match "without openssl, a fixed list" '^sha256 sha512 sha1 sha224 sha384 sha3-256 sha3-512' "$nopenssl"
fi

# Values that are not to be completed, and values that are files.
each_mode "-j gives nothing" "cap-hash -j " ""
each_mode "--jobs gives nothing" "cap-info --jobs " ""
each_mode "--config gives any file" "cap-info --config d/" "d/.hidden-dir d/D.PCAP d/SHA256SUMS d/a.pcap d/b.pcapng d/c.cap d/notes.txt d/sub"
each_mode "--dir gives directories" "cap-hash --dir d/" "d/.hidden-dir d/sub"
each_mode "--dir= gives directories" "cap-hash --dir=d/" "d/.hidden-dir d/sub"

# Operands: capture files and directories; anything with cap-hash --check.
each_mode "cap-info operands are capture files" "cap-info d/" "d/.hidden-dir d/D.PCAP d/a.pcap d/b.pcapng d/c.cap d/sub"
each_mode "cap-hash operands are capture files" "cap-hash -j 2 d/" "d/.hidden-dir d/D.PCAP d/a.pcap d/b.pcapng d/c.cap d/sub"
each_mode "cap-hash --check operands are any file" "cap-hash --check d/" "d/.hidden-dir d/D.PCAP d/SHA256SUMS d/a.pcap d/b.pcapng d/c.cap d/notes.txt d/sub"
each_mode "cap-hash -c operands are any file" "cap-hash -c d/S" "d/SHA256SUMS"
each_mode "cap-info after -- still files" "cap-info -- d/a" "d/a.pcap"

# The options are asked once per tool per shell.
mkdir -p "$WORK/logged"
printf '#!/bin/sh\necho "$1" >>"%s"\nexec "%s" "$@"\n' "$WORK/calls" "$CAPTURE_BIN/cap-hash" >"$WORK/logged/cap-hash"
chmod +x "$WORK/logged/cap-hash"
for mode in "${modes[@]}"; do
  : >"$WORK/calls"
  got=$(cd "$WORK/files" && REPEAT=3 bash --norc --noprofile "$WORK/drive.bash" "$mode" "$script" "$WORK/logged/cap-hash --al")
  check_eq "[$mode] a tool's path works as its name" "--algo" "$got"
  check_eq "[$mode] --list-options asked once for three TABs" 1 "$(grep -c -- --list-options "$WORK/calls")"
done

# Analysts, interfaces, formats and capture ids, through the stand-in.
each_mode "-f gives the analysts in CAPTURE_DIR" "$stub/cap-ls -f " "alice grant"
each_mode "--analyst g gives grant" "$stub/cap-ls --analyst g" "grant"
each_mode "--analyst= gives the analysts" "$stub/cap-ls --analyst=" "alice grant"
each_mode "--dir on the line is the capture directory" "$stub/cap-ls --dir $WORK/other -f " "zed"
each_mode "-a is a flag for this tool: no analysts after it" "$stub/cap-ls -a --re" "--records"
each_mode "-F gives the formats" "$stub/cap-ls -F " "pcap pcapng"
each_mode "-w gives files" "$stub/cap-ls -w d/n" "d/notes.txt"
each_mode "cap-stop operands are the ids cap-ls gives" "$stub/cap-stop " "alice-1234951200 grant-1234902022"
each_mode "cap-stop ids by prefix" "$stub/cap-stop g" "grant-1234902022"
each_mode "cap-start's options" "$stub/cap-start --i" "--interface"
each_mode "cap-start's first operand is an analyst" "$stub/cap-start " "alice grant"
each_mode "an option's value is not an operand" "$stub/cap-start -i lo g" "grant"
each_mode "cap-start's second operand is free text" "$stub/cap-start grant " ""
each_mode "with -e there is no analyst operand" "$stub/cap-start -e port " ""
each_mode "-w that is --wait takes no file" "$stub2/cap-stop -w " ""
each_mode "cap-stop ids after -w N" "$stub2/cap-stop -w 5 a" "alice-1234951200"
# alice has a capture file but nothing running (her record names no analyst).
each_mode "cap-stop -f gives only the analysts with something running" "$stub2/cap-stop -f " "grant"
each_mode "cap-stop --analyst= the same" "$stub2/cap-stop --analyst=" "grant"
cat >"$WORK/capture.conf" <<EOF
# capture directory from the configuration
dir = $WORK/other
EOF
for mode in "${modes[@]}"; do
  got=$(CAPTURE_DIR='' CAPTURE_CONF=$WORK/capture.conf candidates "$mode" "$stub/cap-ls -f ")
  check_eq "[$mode] the configuration's dir when CAPTURE_DIR is unset" "zed" "$got"
done
if [ -d /sys/class/net ]; then
  want=$(ls /sys/class/net | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
  each_mode "-i gives the interfaces" "$stub/cap-start -i " "$want"
else
  echo "note: no /sys/class/net: interface completion not checked"
fi

# The real tools, once they are built.
if [ -x "$CAPTURE_BIN/cap-ls" ]; then
  each_mode "cap-ls -f gives the analysts" "cap-ls -f " "alice grant"
else
  SKIPPED+=("cap-ls not built: analyst completion of the real cap-ls")
fi
if [ -x "$CAPTURE_BIN/cap-stop" ] && [ -x "$CAPTURE_BIN/cap-ls" ]; then
  each_mode "cap-stop offers no ids in an empty directory" "cap-stop --dir $WORK/files/d/sub " ""
else
  SKIPPED+=("cap-stop or cap-ls not built: capture ids from the real cap-ls")
fi
for t in cap-start cap-pull cap-merge; do
  if [ -x "$CAPTURE_BIN/$t" ]; then
    want=$("$t" --list-options | grep -- '^--' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
    each_mode "$t -- gives its long options" "$t --" "$want"
  else
    SKIPPED+=("$t not built: its options")
  fi
done
if [ -x "$CAPTURE_BIN/cap-merge" ]; then
  each_mode "cap-merge operands are capture files" "cap-merge d/" "d/.hidden-dir d/D.PCAP d/a.pcap d/b.pcapng d/c.cap d/sub"
  each_mode "cap-merge -w gives files" "cap-merge -w d/n" "d/notes.txt"
  each_mode "cap-merge -F gives the formats" "cap-merge -F " "pcap pcapng"
fi
if [ -x "$CAPTURE_BIN/cap-stop" ]; then
  each_mode "the real cap-stop -f: nothing runs here, no analyst" "cap-stop -f " ""
fi
if [ -x "$CAPTURE_BIN/cap-start" ]; then
  each_mode "cap-start -a gives the analysts" "cap-start -a " "alice grant"
  each_mode "cap-start's first operand is an analyst" "cap-start -i lo " "alice grant"
  each_mode "cap-start --no-v gives --no-vlan" "cap-start --no-v" "--no-vlan"
fi
if [ -x "$CAPTURE_BIN/cap-pull" ]; then
  each_mode "cap-pull --vl gives --vlan" "cap-pull --vl" "--vlan"
fi

finish || exit 1
if [ "${#SKIPPED[@]}" -gt 0 ]; then
  printf 'SKIP: %s\n' "${SKIPPED[@]}"
  exit 77
fi
