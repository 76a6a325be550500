#!/bin/bash
# SPDX-License-Identifier: MIT
# The manual pages and the bash completion. Each page renders without a warning, has its
# sections and a NAME line whatis(1) can read; and the pages cannot drift from the code:
# every option and command of mlsecctl (its --help and its getopt tables) is in mlsecctl.1
# and every option there exists; every key of common/conf.c and conf/mlsec.conf is in
# mlsec.conf.5 with its default and range; every module option parse_options accepts is in
# pam_mlsec.8 and every one listed there is accepted; the PAM codes, prompts and messages
# of the module and mlsecd's MESSAGE_IDs and journal fields are in their pages.
. "$(dirname "$0")/lib.sh"
# man, groff and bash-completion are not ours: no sanitizer runtime preloaded into them
unset LD_PRELOAD

MAN=$TOP/man
PAGES="pam_mlsec.8 mlsecd.8 mlsecctl.1 mlsec.conf.5"
COMPLETION=$TOP/conf/mlsecctl.bash-completion
PAM_C=$TOP/pam_mlsec/pam_mlsec.c
PW_C=$TOP/pam_mlsec/password.c
ACCT_C=$TOP/pam_mlsec/account.c
PWPOLICY_C=$TOP/common/pwpolicy.c
CONF_C=$TOP/common/conf.c
EXAMPLE_CONF=$TOP/conf/mlsec.conf

# render PAGE [WIDTH]: the page as man shows it, plain text (wide: no wrapping, no hyphens)
render() { LC_ALL=C.UTF-8 MANWIDTH=${2:-80} man -E UTF-8 -l "$MAN/$1" 2>/dev/null; }
# section PAGE NAME: the wide rendering of one section, without its heading
section() { render "$1" 1000 | awk -v s="$2" '/^[A-Z]/ {on = ($0 == s); next} on'; }
# item TEXT NAME: from a section's text, the paragraph of the list item NAME
item() { awk -v k="$2" '/^     [^ ]/ {on = ($1 == k)} on' <<<"$1"; }

no_warnings() {
        local w
        w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$MAN/$1" 2>&1 >/dev/null)
        [ -z "$w" ] || { printf '# %s\n' "$w"; return 1; }
}
# has_sections PAGE SECTION...: every SECTION is a heading of the page at 80 columns
has_sections() {
        local page=$1 s text
        shift
        text=$(render "$page") || return 1
        for s in "$@"; do
                grep -qx -- "$s" <<<"$text" || { echo "# $page: no section '$s'"; return 1; }
        done
}
# words_in FILE WORD...: each WORD occurs in FILE as a whole word; fails on no WORD at all,
# so a broken extraction cannot pass
words_in() {
        local file=$1 w rc=0
        shift
        [ $# -gt 0 ] || { echo "# nothing to look for"; return 1; }
        for w in "$@"; do
                grep -qE -- "(^|[^A-Za-z0-9_-])$w([^A-Za-z0-9_-]|\$)" "$file" || { echo "# missing: $w"; rc=1; }
        done
        return $rc
}
# lines_in FILE: each line of stdin is a whole line of FILE, indentation and trailing
# blanks aside (groff drops a trailing blank: "key = " is how an empty default renders)
# (no process substitution here: lib.sh's private /dev has no /dev/fd)
lines_in() {
        local file=$1 l n=0 rc=0 text
        text=$(sed -E 's/^ +//; s/ +$//' "$file")
        while IFS= read -r l; do
                n=$((n + 1))
                l=${l%"${l##*[! ]}"}
                grep -qxF -- "$l" <<<"$text" || { echo "# missing line: $l"; rc=1; }
        done
        [ $n -gt 0 ] || { echo "# nothing to look for"; return 1; }
        return $rc
}
# same_set A B: two newline-separated sets are equal
same_set() {
        [ -n "$1" ] && [ "$(sort -u <<<"$1")" = "$(sort -u <<<"$2")" ] || {
                echo "# differ:"
                sort -u <<<"$1" >"$T/set.a"
                sort -u <<<"$2" >"$T/set.b"
                diff "$T/set.a" "$T/set.b" | sed 's/^/#   /'
                return 1
        }
}

# --- every page: no warnings, a NAME whatis can read ---
for p in $PAGES; do
        check "$p renders without warnings" no_warnings "$p"
        check "$p has a NAME line whatis can read" eval 'lexgrog "$MAN/$p" | grep -qF "\"${p%.[0-9]} - "'
done

# --- the sections each page must have ---
check "pam_mlsec.8 has its sections" has_sections pam_mlsec.8 NAME SYNOPSIS DESCRIPTION OPTIONS \
        "MODULE TYPES PROVIDED" "RETURN VALUES" MESSAGES FILES EXAMPLES "SEE ALSO"
check "mlsecd.8 has its sections" has_sections mlsecd.8 NAME SYNOPSIS DESCRIPTION OPTIONS "THE SOCKET" LIMITS \
        SPOOL LOGIND JOURNAL "SYSTEMD UNITS" FILES "EXIT STATUS" "SEE ALSO"
check "mlsecctl.1 has its sections" has_sections mlsecctl.1 NAME SYNOPSIS DESCRIPTION ENVIRONMENT FILES \
        "EXIT STATUS" EXAMPLES "SEE ALSO"
check "mlsec.conf.5 has its sections" has_sections mlsec.conf.5 NAME SYNOPSIS DESCRIPTION KEYS FILES EXAMPLES \
        "SEE ALSO"

# --- mlsecctl.1 against mlsecctl ---
render mlsecctl.1 1000 >"$T/ctl.txt"
"$MLSECCTL" --help >"$T/help.txt"
HELP_OPTS=$(grep -oE -- '(^|[^A-Za-z-])--?[a-z][a-z-]*' "$T/help.txt" | grep -oE -- '--?[a-z][a-z-]*' | sort -u)
# shellcheck disable=SC2086
check "every option in 'mlsecctl --help' is in mlsecctl.1" words_in "$T/ctl.txt" $HELP_OPTS
help_cmds_in_page() {
        local c n=0
        while read -r c; do
                n=$((n + 1))
                grep -qF -- "$c" "$T/ctl.txt" || { echo "# missing: $c"; return 1; }
        done <<<"$(sed -nE 's/^  (admin [a-z-]+|[a-z]+) .*/\1/p' "$T/help.txt")"
        [ $n -ge 10 ]
}
check "every command in 'mlsecctl --help' is in mlsecctl.1" help_cmds_in_page
# the getopt tables: every long option the code accepts (--help does not show them all)
SRC_OPTS=$(cat "$TOP/mlsecd/mlsecctl.c" "$TOP"/mlsecd/ctl_*.c |
        grep -oE '\{"[a-z][a-z-]*", *(no|required)_argument' | sed -E 's/\{"([^"]*)".*/--\1/' | sort -u)
# shellcheck disable=SC2086
check "every long option in mlsecctl's getopt tables is in mlsecctl.1" words_in "$T/ctl.txt" $SRC_OPTS
PAGE_OPTS=$(grep -oE -- '(^|[^A-Za-z0-9-])--[a-z][a-z-]*' "$T/ctl.txt" | grep -oE -- '--[a-z][a-z-]*' | sort -u)
check "every long option in mlsecctl.1 exists in mlsecctl" same_set "$PAGE_OPTS" "$SRC_OPTS"
SUBS=$(sed -nE 's/.*strcmp\(sub, "([a-z-]+)"\).*/\1/p' "$TOP/mlsecd/mlsecctl.c" "$TOP/mlsecd/ctl_admin.c" | sort -u)
subs_in_page() {
        local s
        [ -n "$SUBS" ] || return 1
        for s in $SUBS; do grep -qF "admin $s" "$T/ctl.txt" || { echo "# missing: admin $s"; return 1; }; done
}
check "every admin sub-command in mlsecctl.c is in mlsecctl.1" subs_in_page
CMDS=$(sed -nE 's/.*strcmp\(argv\[0\], "([a-z-]+)"\).*/\1/p' "$TOP/mlsecd/mlsecctl.c" | sort -u)
# shellcheck disable=SC2086
check "every command in mlsecctl.c's main is in mlsecctl.1" words_in "$T/ctl.txt" $CMDS
exit_codes() {
        local s
        s=$(section mlsecctl.1 "EXIT STATUS")
        grep -Eq '^ +0 ' <<<"$s" && grep -Eq '^ +1 ' <<<"$s" && grep -Eq '^ +2 ' <<<"$s" &&
                grep -q '#define EXIT_USAGE 2' "$TOP/mlsecd/ctl.h" && section mlsecctl.1 ENVIRONMENT | grep -q NO_COLOR &&
                grep -q 'getenv("NO_COLOR")' "$TOP/mlsecd/mlsecctl.c"
}
check "mlsecctl.1 gives the exit codes 0, 1, 2 and NO_COLOR, as the code has them" exit_codes

# --- mlsec.conf.5 against common/conf.c and conf/mlsec.conf ---
render mlsec.conf.5 1000 >"$T/conf.txt"
CODE_KEYS=$(sed -nE 's/^ *(PATH|UINT|LIST)_KEY\(([a-z_]+).*/\2/p; s/^ *\{"([a-z_]+)", KIND_.*/\1/p' "$CONF_C" | sort -u)
EXAMPLE_KEYS=$(sed -nE 's/^#([a-z_]+) = .*/\1/p' "$EXAMPLE_CONF" | sort -u)
PAGE_KEYS=$(section mlsec.conf.5 KEYS | sed -nE 's/^     ([a-z_]+) = .*/\1/p' | sort -u)
# shellcheck disable=SC2086
check "every key in conf/mlsec.conf (#key = value) is in mlsec.conf.5" words_in "$T/conf.txt" $EXAMPLE_KEYS
check "conf/mlsec.conf shows every key of common/conf.c" same_set "$EXAMPLE_KEYS" "$CODE_KEYS"
check "mlsec.conf.5 describes exactly the keys of common/conf.c" same_set "$PAGE_KEYS" "$CODE_KEYS"
check "mlsec.conf.5 shows every default of conf/mlsec.conf as 'key = value'" \
        eval 'sed -nE "s/^#([a-z_]+ = .*)/\1/p" "$EXAMPLE_CONF" | lines_in "$T/conf.txt"'
# the defaults compiled in: ret->key = N; snprintf(ret->key, ..., "%s", "value"); unenrolled;
# a repeatable key's empty list (ret->key.n = 0) shows as 'key =' like an empty string
code_defaults() {
        sed -nE 's/.*ret->([a-z_]+) = ([0-9]+);.*/\1 = \2/p
                s/.*ret->([a-z_]+)\.n = 0;.*/\1 =/p
                s/.*snprintf\(ret->([a-z_]+), sizeof\(ret->[a-z_]+\), "%s", "([^"]*)"\).*/\1 = \2/p
                s/.*ret->unenrolled = CONF_UNENROLLED_([A-Z]+);.*/unenrolled = \L\1/p
                s/.*ret->fleet_offline = CONF_FLEET_OFFLINE_([A-Z]+);.*/fleet_offline = \L\1/p' "$CONF_C"
}
check "mlsec.conf.5 shows every default compiled into common/conf.c" \
        eval '[ "$(code_defaults | wc -l)" -eq "$(wc -l <<<"$CODE_KEYS")" ] && code_defaults | lines_in "$T/conf.txt"'
ranges_in_page() {
        local k lo hi keys n=0
        keys=$(section mlsec.conf.5 KEYS)
        while read -r k lo hi; do
                n=$((n + 1))
                item "$keys" "$k" | grep -q "from $lo to $hi" || { echo "# $k: no \"from $lo to $hi\""; return 1; }
        done <<<"$(sed -nE 's/^ *UINT_KEY\(([a-z_]+), *([0-9]+), *([0-9]+)\).*/\1 \2 \3/p' "$CONF_C")"
        [ $n -gt 0 ]
}
check "mlsec.conf.5 gives every numeric key's range from common/conf.c" ranges_in_page

# --- pam_mlsec.8 against pam_mlsec.c, password.c and account.c (each parses its own options) and
# module.c (the options they share) ---
render pam_mlsec.8 1000 | tr -s ' ' >"$T/pam.txt"
MOD_OPTS=$({
        for f in "$PAM_C" "$PW_C" "$ACCT_C"; do sed -n '/^static void parse_options/,/^}/p' "$f"; done
        sed -n '/^bool module_option(/,/^}/p' "$TOP/pam_mlsec/module.c"
} | grep -oE '(argv\[i\]|arg), "[^"]+"' |
        sed -E 's/.*"([^"]+)"/\1/' | sort -u)
DOC_OPTS=$(section pam_mlsec.8 OPTIONS | sed -nE 's/^     ([a-z_]+=?).*/\1/p' | sort -u)
check "every module option parse_options accepts is in pam_mlsec.8, and only those" \
        eval '[ $(wc -l <<<"$MOD_OPTS") -ge 4 ] && same_set "$DOC_OPTS" "$MOD_OPTS"'
synopsis_opts() {
        local o syn
        syn=$(section pam_mlsec.8 SYNOPSIS)
        for o in $MOD_OPTS; do grep -qF -- "[$o" <<<"$syn" || grep -qw -- "$o" <<<"$syn" || { echo "# missing: $o"; return 1; }; done
}
check "the SYNOPSIS of pam_mlsec.8 shows every module option" synopsis_opts
# every PAM code the module returns (not the ones it only compares with)
RET_CODES=$(grep -hE 'return .*PAM_|ret = .*PAM_' "$PAM_C" "$PW_C" "$ACCT_C" | sed -E 's/r == PAM_[A-Z_]+ \?//g' | grep -oE 'PAM_[A-Z_]+' | sort -u)
return_codes() {
        local c rv
        rv=$(section pam_mlsec.8 "RETURN VALUES")
        [ -n "$RET_CODES" ] || return 1
        for c in $RET_CODES; do grep -qw -- "$c" <<<"$rv" || { echo "# missing: $c"; return 1; }; done
}
check "pam_mlsec.8 RETURN VALUES names every PAM code the module returns" return_codes
module_types() {
        local s
        s=$(section pam_mlsec.8 "MODULE TYPES PROVIDED")
        grep -qE '^     auth ' <<<"$s" && grep -qE '^     session' <<<"$s" && grep -qE '^     password' <<<"$s" &&
                grep -qE '^     account' <<<"$s" &&
                grep -q '^PAM_EXTERN int pam_sm_authenticate' "$PAM_C" && grep -q '^PAM_EXTERN int pam_sm_open_session' "$PAM_C" &&
                grep -q '^PAM_EXTERN int pam_sm_chauthtok' "$PW_C" && grep -q '^PAM_EXTERN int pam_sm_acct_mgmt' "$ACCT_C" &&
                nm -D --defined-only "$MODULE" | grep -qw pam_sm_acct_mgmt
}
check "pam_mlsec.8 names the module types the module provides (auth, account, session, password)" module_types
# the prompts and the sentences the user reads, as the code writes them: each piece between
# format conversions must be quoted in the page
python3 - "$PAM_C" "$TOP/common/verify.c" "$PW_C" "$PWPOLICY_C" "$ACCT_C" "$TOP/pam_mlsec/notice.c" >"$T/msgs.txt" <<'PYEOF'
import re, sys
pam, verify, pw, policy, acct, notice = (open(f).read() for f in sys.argv[1:7])
texts = re.findall(r'#define PROMPT_\w+\s+"([^"]*)"', pam)
# the password stack: its prompts and messages, and the sentence of every policy rule
texts += re.findall(r'#define (?:PROMPT|MSG)_\w+\s+"([^"]*)"', pw)
# the login notice: every sentence (C escapes undone: \" is a quote)
texts += [re.sub(r'\\(.)', r'\1', m) for m in re.findall(r'#define MSG_\w+\s+(?:\\\s*)?"((?:[^"\\]|\\.)*)"', notice)]
def literals(code):
    # adjacent C string literals are one string
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"(?:\s*"(?:[^"\\]|\\.)*")*', code):
        yield "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(0))).replace('\\"', '"')
def body(src, start):
    i = src.index(start)
    return src[i:src.index("\n}\n", i)]
for code in [body(pam, "static void tell_user"), body(verify, "char *verify_user_message")] + \
        re.findall(r'say\(pamh, &o, PAM_ERROR_MSG, ("[^"]*")\)', pam) + \
        [body(policy, "static const char *user_name_rule"), body(policy, "int pwpolicy_check")]:
    texts.extend(literals(code))
# the account stack's messages: #define MSG_* (continued lines) in account.c
for m in re.finditer(r'#define MSG_\w+((?:[^\n]*\\\n)*[^\n]*)', acct):
    texts.extend(literals(m.group(1).replace('\\\n', ' ')))
for t in texts:
    for piece in re.split(r'%[a-z]+', t):
        piece = piece.strip()
        if len(piece) >= 3 and re.search('[A-Za-z]', piece):
            print(piece)
PYEOF
messages_in_page() {
        local m n=0
        while IFS= read -r m; do
                n=$((n + 1))
                grep -qF -- "$m" "$T/pam.txt" || { echo "# missing: $m"; return 1; }
        done <"$T/msgs.txt"
        [ $n -ge 10 ]
}
check "pam_mlsec.8 quotes every prompt and message of the module exactly" messages_in_page

# --- mlsecd.8 against mlsecd ---
render mlsecd.8 1000 >"$T/d.txt"
MIDS=$(sed -nE 's/^#define JOURNAL_MID_[A-Z_]+ +"([0-9a-f]{32})"/\1/p' "$TOP/mlsecd/journal.h")
# shellcheck disable=SC2086
check "every MESSAGE_ID of mlsecd/journal.h is in mlsecd.8" words_in "$T/d.txt" $MIDS
FIELDS=$(grep -oE '"MLSEC_[A-Z_]+"' "$TOP/mlsecd/journal.c" | tr -d '"' | sort -u)
# shellcheck disable=SC2086
check "every MLSEC_* journal field of mlsecd/journal.c is in mlsecd.8" words_in "$T/d.txt" $FIELDS
D_OPTS=$("$MLSECD" --help | grep -oE -- '(^|[^A-Za-z-])--?[a-z][a-z-]*' | grep -oE -- '--?[a-z][a-z-]*' | sort -u)
# shellcheck disable=SC2086
check "every option in 'mlsecd --help' is in mlsecd.8" words_in "$T/d.txt" $D_OPTS

# --- bash completion ---
check "the bash completion is valid bash" bash -n "$COMPLETION"
check "sourcing the completion registers _mlsecctl for mlsecctl" \
        eval 'bash -c ". \"\$1\" && complete -p mlsecctl" _ "$COMPLETION" | grep -qx -- "complete -F _mlsecctl mlsecctl"'
# complete WORD...: what the completion offers for the last WORD of "mlsecctl WORD..."
complete_words() {
        bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _mlsecctl; printf "%s\n" "${COMPREPLY[@]}"' \
                _ "$COMPLETION" mlsecctl "$@" 2>/dev/null
}
offers() { # offers WORD... -- EXPECTED...: every EXPECTED is offered
        local -a words=()
        local got e
        while [ "$1" != -- ]; do words+=("$1"); shift; done
        shift
        got=$(complete_words "${words[@]}")
        for e in "$@"; do grep -qxF -- "$e" <<<"$got" || { echo "# '${words[*]}' does not offer '$e'"; return 1; }; done
}
add_user compuser1
# shellcheck disable=SC2086
check "completion offers every command of mlsecctl.c" offers "" -- $CMDS
# shellcheck disable=SC2086
check "completion offers every admin sub-command of mlsecctl.c" offers admin "" -- $SUBS
check "completion offers user names for --user and for admin USER (compgen -u)" \
        eval 'offers history --user compuser -- compuser1 && offers admin enroll compuser -- compuser1 &&
                offers admin unlock compuser -- compuser1 && offers password --user compuser -- compuser1'
check "completion offers --algorithm and --digits values" \
        eval 'offers admin enroll compuser1 --algorithm "" -- sha1 sha256 sha512 && offers admin enroll compuser1 --digits "" -- 6 8'
all_options_offered() {
        local c s o got
        got=$({
                complete_words ""
                for c in history sessions audit status "mfa enable" "mfa devices" backup-codes; do complete_words $c --; done
                complete_words logout 1 --
                complete_words logout --
                complete_words report 0123456789abcdef0123456789abcdef --
                for s in $SUBS; do complete_words admin "$s" compuser1 --; done
                complete_words admin logout 1 --
                complete_words admin audit --
                complete_words check-config --
        } | sort -u)
        [ -n "$SRC_OPTS" ] || return 1
        for o in $SRC_OPTS; do
                # --secret exists only to be refused with a reason (#12 item 8): never offered
                if [ "$o" = --secret ]; then
                        ! grep -qxF -- "$o" <<<"$got" || { echo "# offered: $o"; return 1; }
                        continue
                fi
                grep -qxF -- "$o" <<<"$got" || { echo "# never offered: $o"; return 1; }
        done
}
check "completion offers every long option in mlsecctl's getopt tables" all_options_offered
finish
