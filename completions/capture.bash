# bash completion for capture: cap-info cap-hash cap-start cap-ls cap-stop
# cap-pull cap-merge cap-index.                                -*- shell-script -*-
#
# One function serves every tool. The options are asked of the tool itself
# (its hidden --list-options gives every spelling it accepts; its --help says
# which of them take a value), once per tool per shell, so these completions
# cannot drift from the binaries. Works with bash-completion's helpers when
# they are loaded and without them (plain `source capture.bash`).
#
# bash-completion loads completions/NAME on the first TAB after NAME, so this
# same file is installed once under each tool's name; sourcing it again is
# harmless.

# _capture_query COMMAND: sets _capture_opts (the spellings, one a line) and
# _capture_args (lines "SPELLING VALUE-NAME LONG-SPELLING" for those that
# take a value; "-w N --wait" for "-w [ --wait ] N").
_capture_query() {
    local key=${1//[^A-Za-z0-9]/_}
    local ov=_capture_cache_opts_$key av=_capture_cache_args_$key
    if [[ -z ${!ov-} ]]; then
        local cmd=$1 opts help line spelling spellings long args=
        local -a group
        [[ $cmd == \~/* ]] && cmd=$HOME/${cmd#\~/}
        opts=$("$cmd" --list-options 2>/dev/null </dev/null) || opts=
        help=$("$cmd" --help 2>/dev/null </dev/null) || help=
        # Option lines in --help start with exactly two spaces, e.g.
        # "  -j [ --jobs ] N (=2)   ..." or "  --config FILE   ..."; a value
        # name follows the spellings after one space, a description after two.
        local re='^  (-[[:alnum:]] \[ --[^ ]+ \]|--[^ ]+|-[[:alnum:]]) ([A-Z][A-Z0-9_-]*|arg)( |$)'
        while IFS= read -r line; do
            [[ $line =~ $re ]] || continue
            spellings=${BASH_REMATCH[1]}
            read -ra group <<<"${spellings//[][]/}"
            long=${group[${#group[@]} - 1]}
            for spelling in "${group[@]}"; do
                args+="$spelling ${BASH_REMATCH[2]} $long"$'\n'
            done
        done <<<"$help"
        # A tool not found now may be installed later: cache only answers.
        [[ -n $opts ]] || { _capture_opts='' _capture_args=''; return 1; }
        printf -v "$ov" '%s' "$opts"
        printf -v "$av" '%s' "$args"
    fi
    _capture_opts=${!ov}
    _capture_args=${!av}
}

# _capture_value_name OPTION: prints the option's value name and its long
# spelling ("N --jobs"); fails when the option takes no value.
_capture_value_name() {
    local spelling name long
    if [[ -z $_capture_args ]]; then
        # No --help to read: trust the names the suite gives its valued options.
        case $1 in
        --algo | --config | -w | --write | --dir | -r | -i | --interface | -f | -a | --analyst | -j | --jobs | -F | --format)
            printf '%s\n' "VALUE $1"
            return 0
            ;;
        esac
        return 1
    fi
    while read -r spelling name long; do
        [[ $spelling == "$1" ]] && { printf '%s\n' "$name $long"; return 0; }
    done <<<"$_capture_args"
    return 1
}

# _capture_add LIST: adds the lines of LIST that begin with $cur.
_capture_add() {
    local w
    while IFS= read -r w; do
        [[ -n $w && $w == "$cur"* ]] && COMPREPLY+=("$w")
    done <<<"$1"
}

# _capture_files capture|any|dir: file names, as bash-completion would give them.
_capture_files() {
    if declare -F _filedir >/dev/null; then
        case $1 in
        capture) _filedir '@(pcap|pcapng|cap)' ;;
        dir) _filedir -d ;;
        *) _filedir ;;
        esac
        return
    fi
    compopt -o filenames 2>/dev/null
    local f lower
    local -a found
    case $1 in
    dir) mapfile -t found < <(compgen -d -- "$cur") ;;
    *) mapfile -t found < <(compgen -f -- "$cur") ;;
    esac
    for f in "${found[@]}"; do
        if [[ $1 == capture && ! -d $f ]]; then
            lower=$(tr '[:upper:]' '[:lower:]' <<<"$f")
            case $lower in *.pcap | *.pcapng | *.cap) ;; *) continue ;; esac
        fi
        COMPREPLY+=("$f")
    done
}

# _capture_line_value OPTION: the value given to OPTION earlier on the line.
_capture_line_value() {
    local i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        "$1") REPLY=${words[i + 1]-} ;;
        "$1"=*) REPLY=${words[i]#*=} ;;
        *) continue ;;
        esac
        [[ $REPLY == \~/* ]] && REPLY=$HOME/${REPLY#\~/}
        return 0
    done
    return 1
}

# _capture_dir: sets REPLY to the capture directory as the tools choose it:
# --dir, CAPTURE_DIR, the configuration file's dir, then the default.
_capture_dir() {
    _capture_line_value --dir && return
    REPLY=${CAPTURE_DIR-}
    [[ -n $REPLY ]] && return
    local conf
    _capture_line_value --config && conf=$REPLY || conf=${CAPTURE_CONF:-/etc/capture.conf}
    REPLY=
    if [[ -r $conf ]]; then
        local line re='^[[:space:]]*dir[[:space:]]*=[[:space:]]*(.*[^[:space:]])'
        while IFS= read -r line; do
            [[ $line =~ $re ]] && REPLY=${BASH_REMATCH[1]}
        done <"$conf"
    fi
    [[ -n $REPLY ]] && return
    if ((EUID == 0)); then REPLY=/var/lib/capture; else REPLY=${HOME:-.}/captures; fi
}

# The sensors a fleet pull may name (cap-pull --sensor): @all, @GROUP for
# each sensor-group of the configuration file, its sensors, and the hosts
# of ~/.ssh/config and known_hosts as bash-completion knows them.
_capture_sensors() {
    local conf line names=$'@all\n'
    _capture_line_value --config && conf=$REPLY || conf=${CAPTURE_CONF:-/etc/capture.conf}
    if [[ -r $conf ]]; then
        local re_group='^[[:space:]]*sensor-group[[:space:]]*=[[:space:]]*([^:[:space:]]+)[[:space:]]*:(.*)'
        local re_list='^[[:space:]]*sensors[[:space:]]*=(.*)'
        while IFS= read -r line; do
            if [[ $line =~ $re_group ]]; then
                names+="@${BASH_REMATCH[1]}"$'\n'$(tr ', ' '\n\n' <<<"${BASH_REMATCH[2]}")$'\n'
            elif [[ $line =~ $re_list ]]; then
                names+=$(tr ', ' '\n\n' <<<"${BASH_REMATCH[1]}")$'\n'
            fi
        done <"$conf"
    fi
    _capture_add "$(sort -u <<<"$names")"
    if declare -F _known_hosts_real >/dev/null; then _known_hosts_real -- "$cur"; fi
}

# The analysts who have captures: the part of each capture file's name
# before its first '_' ("grant_traffic.to..._1234902022_.pcap" is grant's).
_capture_analysts() {
    local REPLY f names=
    _capture_dir
    for f in "$REPLY"/*_*.pcap; do
        [[ -e $f ]] || continue
        f=${f##*/}
        names+=${f%%_*}$'\n'
    done
    _capture_add "$(sort -u <<<"$names")"
}

# The analysts with a capture or pull running, from cap-ls's records
# (beside the tool being completed): what cap-stop -f can stop.
_capture_running_analysts() {
    local ls=cap-ls line a REPLY names=
    local -a extra=()
    [[ ${words[0]} == */* ]] && ls=${words[0]%/*}/cap-ls
    _capture_line_value --dir && extra+=(--dir "$REPLY")
    _capture_line_value --config && extra+=(--config "$REPLY")
    while IFS= read -r line; do
        [[ $line == *$'\t'analyst=* ]] || continue
        a=${line#*$'\t'analyst=}
        names+=${a%%$'\t'*}$'\n'
    done < <("$ls" --records "${extra[@]}" 2>/dev/null </dev/null)
    _capture_add "$(sort -u <<<"$names")"
}

# The ids cap-ls knows, from its records (beside the tool being completed).
_capture_ids() {
    local ls=cap-ls line id REPLY ids=
    local -a extra=()
    [[ ${words[0]} == */* ]] && ls=${words[0]%/*}/cap-ls
    _capture_line_value --dir && extra+=(--dir "$REPLY")
    _capture_line_value --config && extra+=(--config "$REPLY")
    while IFS= read -r line; do
        [[ $line == id=* ]] || continue
        id=${line#id=}
        ids+=${id%%$'\t'*}$'\n'
    done < <("$ls" --records "${extra[@]}" 2>/dev/null </dev/null)
    _capture_add "$ids"
}

_capture_interfaces() {
    local f list=
    if [[ -d /sys/class/net ]]; then
        for f in /sys/class/net/*; do
            [[ -e $f ]] && list+=${f##*/}$'\n'
        done
    elif type -P ifconfig >/dev/null; then
        list=$(ifconfig -l 2>/dev/null | tr ' ' '\n')
    fi
    _capture_add "$list"
}

# Digests cap-hash can use: OpenSSL's dgst names, lowercase as typed (its
# -digest-algorithms list is uppercase, full of RSA-* aliases and legacy
# digests OpenSSL 3 will not fetch). SHAKE has no fixed length: refused.
_capture_digests() {
    if [[ -z ${_capture_cache_digests-} ]]; then
        local d w list=
        if type -P openssl >/dev/null; then
            d=$(openssl list -digest-commands 2>/dev/null </dev/null) || d=
        fi
        for w in $d; do
            [[ $w == shake* ]] || list+=$w$'\n'
        done
        [[ -n $list ]] || list=$'sha256\nsha512\nsha1\nmd5\nsha224\nsha384\nsha3-256\nsha3-512\nblake2b512\nblake2s256\n'
        _capture_cache_digests=$list
    fi
    _capture_add "$_capture_cache_digests"
}

# _capture_value VALUE-NAME LONG-SPELLING: completes an option's value. The
# long spelling says what it is: a letter means different things to
# different tools (cap-merge -w is --write FILE, cap-stop -w is --wait N).
# Short spellings count only for options that have no long one.
_capture_value() {
    case $2 in
    --algo) _capture_digests ;;
    --config | --write | --check | -w) _capture_files any ;;
    --dir | -r) _capture_files dir ;;
    --interface | -i) _capture_interfaces ;;
    --analyst | -f | -a)
        if [[ ${words[0]##*/} == cap-stop ]]; then _capture_running_analysts; else _capture_analysts; fi ;;
    --jobs | -j) ;;
    --format | -F) _capture_add $'pcap\npcapng' ;;
    --sensor) _capture_sensors ;;
    *)
        case $1 in
        FILE | OUT | PATH | CONF*) _capture_files any ;;
        DIR*) _capture_files dir ;;
        IFACE | INTERFACE) _capture_interfaces ;;
        ANALYST) _capture_analysts ;;
        esac
        ;;
    esac
}

# Without bash-completion: readline splits "--algo=sh" into "--algo" "=" "sh";
# glue such words back so that words[] holds what the tool will see.
_capture_init_words() {
    local i n=-1 w
    words=()
    cword=0
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        w=${COMP_WORDS[i]}
        if [[ $w == = ]] && ((n >= 0)) && [[ ${words[n]} == --* && ${words[n]} != *=* ]]; then
            words[n]+='='
            ((i == COMP_CWORD)) && cword=$n
            if ((i < COMP_CWORD)); then
                ((i++))
                words[n]+=${COMP_WORDS[i]}
                ((i == COMP_CWORD)) && cword=$n
            fi
            continue
        fi
        words[++n]=$w
        ((i == COMP_CWORD)) && cword=$n
    done
    cur=${words[cword]-}
    prev=${words[cword - 1]-}
    split=false
    if [[ $cur == --*=* ]]; then
        prev=${cur%%=*}
        cur=${cur#*=}
        split=true
    fi
}

_capture() {
    local cur prev words cword split=false
    COMPREPLY=()
    if declare -F _init_completion >/dev/null; then
        _init_completion -s || return
    else
        _capture_init_words
    fi
    ((cword > 0)) || return

    local tool=${words[0]##*/} _capture_opts _capture_args value
    _capture_query "${words[0]}"

    if [[ $prev == -* ]] && value=$(_capture_value_name "$prev"); then
        _capture_value $value
        return
    fi
    [[ $split == true ]] && return

    # What is on the line already: "--", --check, -e, and how many operands.
    local i w operands_only=false checking=false verifying=false expression=false operands=0
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if [[ $operands_only == true || $w != -* || $w == - ]]; then
            operands=$((operands + 1))
            continue
        fi
        case $w in
        --) operands_only=true ;;
        -c | --check) checking=true ;;
        --verify-audit) verifying=true ;;
        -e | --expression | --expression=*) expression=true ;;
        esac
        # The value of "-w N" is not an operand.
        if [[ $w != *=* ]] && _capture_value_name "$w" >/dev/null; then i=$((i + 1)); fi
    done
    if [[ $operands_only == false && $cur == -* ]]; then
        _capture_add "$_capture_opts"
        return
    fi

    case $tool in
    cap-info | cap-merge | cap-index) _capture_files capture ;;
    cap-hash)
        # --check reads sha256sum manifests and sidecar files, not captures.
        if [[ $checking == true ]]; then _capture_files any; else _capture_files capture; fi
        ;;
    cap-stop) _capture_ids ;;
    cap-ls)
        # --verify-audit reads audit logs; otherwise cap-ls takes no operand.
        if [[ $verifying == true ]]; then
            _capture_files any
        else
            [[ $operands_only == false && -z $cur ]] && _capture_add "$_capture_opts"
        fi
        ;;
    cap-start)
        # cap-start ANALYST [DESCRIPTION] EXPRESSION...: the first operand is
        # an analyst, unless -e gave the expression.
        if [[ $expression == false && $operands == 0 && $cur != -* ]]; then
            _capture_analysts
        fi
        ;;
    *) [[ $operands_only == false && -z $cur ]] && _capture_add "$_capture_opts" ;;
    esac
}

complete -F _capture cap-info cap-hash cap-start cap-ls cap-stop cap-pull cap-merge cap-index
