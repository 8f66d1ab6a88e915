#!/usr/bin/env bash
# --help, the man pages and --list-options (the list the completions use)
# agree, for every tool built (STYLE.md 7); every man page is clean roff.
source "$(dirname "$0")/lib.sh"
man_dir=$CAPTURE_SOURCE/man

# has_spelling SPELLING TEXT: SPELLING stands alone in TEXT ("-c" is not
# found inside "--check", nor "--dir" inside "--dirs").
has_spelling() {
  # A here-string, not a pipe: grep -q exits at the first match, and under
  # pipefail the writer's SIGPIPE would turn that success into a failure.
  grep -Eq -- "(^|[^-[:alnum:]])$1([^-[:alnum:]]|$)" <<<"$2"
}
# has_roff_spelling SPELLING TEXT: SPELLING written as roff must write it,
# every '-' as '\-' ("\-\-algo"), standing alone; a font escape before it
# (\fB\-c) is not part of a word.
has_roff_spelling() {
  local re=${1//-/'\\-'}
  grep -Eq -- "(^|[^-[:alnum:]\\]|\\\\f[A-Z]|\\\\f\\(..|\\\\f\\[[^]]*\\])$re([^-[:alnum:]]|$)" <<<"$2"
}
# option_tags PAGE: the tags of the entries in PAGE's OPTIONS section (the
# line after each .TP or .TQ, and .IP lines): where an option is documented,
# not merely mentioned in an example.
option_tags() {
  awk '/^\.SH/ { opts = ($0 ~ /^\.SH +"?OPTIONS/) }
       opts && tag { print; tag = 0; next }
       opts && /^\.(TP|TQ)/ { tag = 1; next }
       opts && /^\.IP/ { print }' "$1"
}

tools=()
for exe in "$CAPTURE_BIN"/cap-*; do
  [ -f "$exe" ] && [ -x "$exe" ] && tools+=("$exe")
done
[ "${#tools[@]}" -gt 0 ] || { fail "no cap-* tool in $CAPTURE_BIN"; finish; exit; }

for exe in "${tools[@]}"; do
  t=${exe##*/}
  run_tool "$exe" --help
  check_eq "$t --help exits 0" 0 "$RC"
  check_eq "$t --help says nothing on stderr" "" "$ERR"
  help=$OUT
  last=$(printf '%s\n' "$help" | sed '/^[[:space:]]*$/d' | tail -n1)
  check_match "$t --help ends by pointing at $t(1)" "$t\\(1\\)" "$last"
  run_tool "$exe" --version
  check_eq "$t --version exits 0" 0 "$RC"
  check_match "$t --version names the tool and a version" "^$t .*[0-9]+\\.[0-9]+" "$OUT"
  run_tool "$exe" --list-options
  check_eq "$t --list-options exits 0" 0 "$RC"
  spellings=$OUT
  if grep -qx -- --help <<<"$spellings"; then
    ok "$t --list-options lists --help"
  else
    fail "$t --list-options does not list --help: [$spellings]"
  fi
  bad=$(printf '%s\n' "$spellings" | grep -Ev -- '^(-[[:alnum:]]|--[[:alnum:]][-[:alnum:]]*)$' || true)
  check_eq "$t --list-options gives one spelling a line" "" "$bad"

  page=$man_dir/$t.1
  if [ ! -f "$page" ]; then
    fail "$t is built but man/$t.1 is missing"
  fi
  missing_help='' missing_man='' tags=''
  [ -f "$page" ] && tags=$(option_tags "$page")
  while IFS= read -r s; do
    [ -n "$s" ] || continue
    has_spelling "$s" "$help" || missing_help+=" $s"
    if [ -f "$page" ]; then has_roff_spelling "$s" "$tags" || missing_man+=" $s"; fi
  done <<<"$spellings"
  check_eq "$t --help shows every spelling of --list-options" "" "$missing_help"
  [ -f "$page" ] && check_eq "man/$t.1 OPTIONS has an entry for every spelling of --list-options (as \\-)" "" "$missing_man"
done

# Every man page is clean roff. mandoc at -Wwarning: its STYLE level only
# advises (lines longer than 80 bytes ...), which is not an error.
pages=("$man_dir"/*.[1-9])
[ -f "${pages[0]}" ] || fail "no man pages in $man_dir"
if command -v groff >/dev/null; then
  for page in "${pages[@]}"; do
    out=$(groff -man -ww -z "$page" 2>&1) || true
    check_eq "groff -man -ww -z is silent on ${page##*/}" "" "$out"
  done
else
  echo "SKIP: groff absent: roff warnings not checked"
fi
if command -v mandoc >/dev/null; then
  for page in "${pages[@]}"; do
    out=$(mandoc -Tlint -Wwarning "$page" 2>&1) || true
    check_eq "mandoc -Tlint -Wwarning is silent on ${page##*/}" "" "$out"
  done
else
  echo "SKIP: mandoc absent: man page lint not checked"
fi
finish
