#!/usr/bin/env bash
# The zsh completion (completions/_capture) in a real interactive zsh.
#
# How: for each case a small zsh script (the driver) starts `zsh -f -i` on a
# pseudo-terminal with zsh/zpty, puts completions/ first in $fpath and runs
# compinit, so _capture is autoloaded for the cap-* commands as an installed
# copy would be. It then types the command line and a TAB. In that shell
# compadd is wrapped: every candidate the completion system really adds (not
# the -O/-A/-D queries _arguments makes) is also written to a file, and a
# comppostfuncs hook marks the completion done. The driver prints the file.
# Tools not built yet are stood in for by a stub (as in test_completion_bash.sh).
source "$(dirname "$0")/lib.sh"
need_cmd zsh
zsh -fc 'zmodload zsh/zpty' 2>/dev/null || skip "this zsh has no zsh/zpty module"
compdir=$CAPTURE_SOURCE/completions
[ -r "$compdir/_capture" ] || { fail "no $compdir/_capture"; finish; exit; }
SKIPPED=()

cat >"$WORK/driver.zsh" <<'EOF'
# driver.zsh COMPLETIONS-DIR OUT-FILE TYPED: the candidates zsh offers for TYPED.
emulate -L zsh
zmodload zsh/zpty zsh/datetime || exit 3
local compdir=$1 out=$2 typed=$3 junk
local setup=$out.setup
: >$out
rm -f $out.ready $out.done
cat >$setup <<SETUP
PS1='' PROMPT='' RPROMPT=''
fpath=(${(q)compdir} \$fpath)
autoload -Uz compinit && compinit -u -D
zstyle ':completion:*' insert-tab false
zstyle ':completion:*' list-prompt ''
LISTMAX=100000
bindkey '^I' complete-word
compadd() {
  local -i i=\${@[(i)--]}
  local a
  for a in "\${(@)@[1,i-1]}"; do
    [[ \$a == -[[:alpha:]]#[OAD]* ]] && { builtin compadd "\$@"; return }
  done
  local -a __hits
  builtin compadd -A __hits "\$@"
  (( \$#__hits )) && print -rl -- \$__hits >>${(q)out}
  builtin compadd "\$@"
}
_capture_test_done() { print done >${(q)out}.done }
comppostfuncs=(_capture_test_done)
print ready >${(q)out}.ready
SETUP
zpty -b cz TERM=vt100 zsh -f -i
zpty -w cz "source ${(q)setup}"
local -F deadline=$(( EPOCHREALTIME + 20 ))
while [[ ! -e $out.ready ]] && (( EPOCHREALTIME < deadline )); do zpty -r -t cz junk; sleep 0.02; done
[[ -e $out.ready ]] || { print -u2 "zsh did not start"; zpty -d cz; exit 3 }
zpty -w -n cz "$typed"$'\t'
while [[ ! -e $out.done ]] && (( EPOCHREALTIME < deadline )); do zpty -r -t cz junk; sleep 0.02; done
zpty -d cz
[[ -e $out.done ]] || { print -u2 "no completion for: $typed"; exit 3 }
LC_ALL=C sort -u $out
EOF

# candidates LINE: what zsh offers for LINE (cursor at the end), sorted, on
# one line; typed in $WORK/files.
n=0
limit=
command -v timeout >/dev/null && limit="timeout 60"
candidates() {
  n=$((n + 1))
  local got rc=0
  got=$(cd "$WORK/files" && $limit zsh -f "$WORK/driver.zsh" "$compdir" "$WORK/out.$n" "$1" 2>"$WORK/.zerr") || rc=$?
  [ "$rc" = 0 ] || fail "zsh driver for '$1' exited $rc: $(cat "$WORK/.zerr")"
  printf '%s\n' "$got" | tr '\n' ' ' | sed 's/ *$//'
}
expect() { check_eq "$1" "$3" "$(candidates "$2")"; }

mkdir -p "$WORK/files/d/sub"
touch "$WORK/files/d/a.pcap" "$WORK/files/d/b.pcapng" "$WORK/files/d/c.cap" "$WORK/files/d/D.PCAP" \
  "$WORK/files/d/notes.txt" "$WORK/files/d/SHA256SUMS"
caps=$WORK/captures
mkdir -p "$caps" "$WORK/other"
touch "$caps/grant_x_Tue.Feb17.2009-20.20.22.UTC_1234902022_.pcap" \
  "$caps/grant_traffic.to.example.com_Wed.Feb18.2009-10.00.00.UTC_1234951200_.pcap" \
  "$caps/alice_dns_Tue.Feb17.2009-20.20.22.UTC_1234902022_.past.pcap" \
  "$caps/bob.pcap" "$caps/carol_notes.txt"
touch "$WORK/other/zed_y_Tue.Feb17.2009-20.20.22.UTC_1234902022_.pcap"
export CAPTURE_DIR=$caps

mkdir -p "$WORK/stub"
cat >"$WORK/stub/cap-ls" <<'EOF'
#!/bin/sh
case $1 in
--list-options) printf '%s\n' -f --analyst -a --all -e --expression -i --interface -F --format --dir --records -h --help ;;
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

Common options:
  --dir DIR              capture directory
  --records              write records even on a terminal
  -h [ --help ]          show this help and exit

See cap-ls(1) for the whole story.
HELP
  ;;
--records)
  printf 'id=grant-1234902022\tkind=live\tstate=running\tanalyst=grant\n'
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

# Options, from the tool.
expect "cap-hash --al<TAB> gives --algo" "cap-hash --al" "--algo"
want=$(cap-hash --list-options | grep -- '^--' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
expect "cap-hash --<TAB> gives its long options" "cap-hash --" "$want"
want=$(cap-info --list-options | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
expect "cap-info -<TAB> gives all its options" "cap-info -" "$want"
expect "an option is not offered twice" "cap-info --json --js" ""
expect "-j excludes --jobs" "cap-info -j 2 --jo" ""

# Digests.
got=$(candidates "cap-hash --algo s")
check_match "--algo s gives sha1, sha256, sha512" '(^| )sha1( .*)? sha256( .*)? sha512( |$)' "$got"
check_match "--algo s gives only names starting with s, no SHAKE" '^(s[^ ]*( |$))+$' "$got"
case $got in *shake*) fail "--algo offers SHAKE, which cap-hash refuses" ;; esac
expect "--algo=sha3- gives the SHA-3 digests" "cap-hash --algo=sha3-" "sha3-224 sha3-256 sha3-384 sha3-512"

# Values and operands.
expect "-j gives nothing" "cap-hash -j " ""
expect "--config gives any file" "cap-info --config d/" "D.PCAP SHA256SUMS a.pcap b.pcapng c.cap notes.txt sub"
expect "--dir gives directories" "cap-hash --dir d/" "sub"
expect "cap-info operands are capture files" "cap-info d/" "D.PCAP a.pcap b.pcapng c.cap sub"
expect "cap-hash operands are capture files" "cap-hash --sidecar d/" "D.PCAP a.pcap b.pcapng c.cap sub"
expect "cap-hash --check operands are any file" "cap-hash --check d/" "D.PCAP SHA256SUMS a.pcap b.pcapng c.cap notes.txt sub"
expect "cap-hash -c operands are any file" "cap-hash -c d/n" "notes.txt"

# Through the stand-in.
expect "-f gives the analysts in CAPTURE_DIR" "$stub/cap-ls -f " "alice grant"
expect "--analyst=g gives grant" "$stub/cap-ls --analyst=g" "grant"
expect "--dir on the line is the capture directory" "$stub/cap-ls --dir $WORK/other -f " "zed"
expect "-F gives the formats" "$stub/cap-ls -F " "pcap pcapng"
expect "cap-stop operands are the ids cap-ls gives" "$stub/cap-stop " "alice-1234951200 grant-1234902022"
expect "cap-start's first operand is an analyst" "$stub/cap-start -i lo g" "grant"
expect "with -e there is no analyst operand" "$stub/cap-start -e port " ""
expect "-w that is --wait takes no file" "$stub2/cap-stop -w " ""
expect "cap-stop ids after -w N" "$stub2/cap-stop -w 5 a" "alice-1234951200"
expect "a repeatable option may be given again" "$stub2/cap-stop -f alice -f g" "grant"
# alice has a capture file but nothing running (her record names no analyst).
expect "cap-stop -f gives only the analysts with something running" "$stub2/cap-stop -f " "grant"
printf '# capture directory from the configuration\ndir = %s\n' "$WORK/other" >"$WORK/capture.conf"
check_eq "the configuration's dir when CAPTURE_DIR is unset" "zed" \
  "$(CAPTURE_DIR='' CAPTURE_CONF=$WORK/capture.conf candidates "$stub/cap-ls -f ")"
if [ -d /sys/class/net ]; then
  want=$(ls /sys/class/net | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
  expect "-i gives the interfaces" "$stub/cap-start -i " "$want"
fi

# The real tools, once they are built.
if [ -x "$CAPTURE_BIN/cap-ls" ]; then
  expect "cap-ls -f gives the analysts" "cap-ls -f " "alice grant"
else
  SKIPPED+=("cap-ls not built: analyst completion of the real cap-ls")
fi
if [ -x "$CAPTURE_BIN/cap-merge" ]; then
  expect "cap-merge -w gives files" "cap-merge -w d/n" "notes.txt"
  expect "cap-merge -F gives the formats" "cap-merge -F " "pcap pcapng"
fi
if [ -x "$CAPTURE_BIN/cap-start" ]; then
  expect "cap-start -a gives the analysts" "cap-start -a " "alice grant"
  expect "cap-start --no-v gives --no-vlan" "cap-start --no-v" "--no-vlan"
fi
if [ -x "$CAPTURE_BIN/cap-pull" ]; then
  expect "cap-pull --vl gives --vlan" "cap-pull --vl" "--vlan"
fi
for t in cap-start cap-stop cap-pull cap-merge; do
  if [ -x "$CAPTURE_BIN/$t" ]; then
    want=$("$t" --list-options | grep -- '^--' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
    expect "$t --<TAB> gives its long options" "$t --" "$want"
  else
    SKIPPED+=("$t not built: its options")
  fi
done

finish || exit 1
if [ "${#SKIPPED[@]}" -gt 0 ]; then
  printf 'SKIP: %s\n' "${SKIPPED[@]}"
  exit 77
fi
