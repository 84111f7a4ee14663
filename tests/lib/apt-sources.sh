# shellcheck shell=bash
# Debian archive addresses read from this machine's configured apt sources, so no script names a
# package mirror itself. Sourced by tests/setup.sh, tests/images/build.sh and tests/vm/build.sh.
#
#   debian_mirror             the first `deb` URI serving the main archive (a suite without
#                             `-security`), e.g. what /etc/apt/sources.list.d/debian.sources lists
#   debian_security_mirror    the first URI serving a `*-security` suite (empty when none)
#   apt_with_suite SUITE CMD… runs apt-get CMD… against SUITE of debian_mirror only, in a private
#                             state dir (the machine's own apt state is not touched)
# DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR in the environment override what the sources say.

# Prints "URI SUITE" for every deb line of the configured sources (one-line and deb822 formats).
_apt_source_pairs() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r "$f" ]] || continue
        # deb [opts] URI SUITE COMPONENT...
        sed -E 's/#.*//; s/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 3 { print $2, $3 }'
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -r "$f" ]] || continue
        # deb822 stanzas: Types / URIs / Suites, separated by blank lines
        awk '
            function flush() { if (deb) for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j]; deb = 0; nu = 0; ns = 0 }
            /^[[:space:]]*#/ { next }
            /^[[:space:]]*$/ { flush(); next }
            tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
            tolower($1) == "uris:" { for (i = 2; i <= NF; i++) u[++nu] = $i }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) s[++ns] = $i }
            END { flush() }
        ' "$f"
    done
}

# Debian's suite names (codenames and aliases): a source of another distribution (an Ubuntu
# runner's archive) is never taken for Debian's.
_DEBIAN_SUITES='^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing|unstable)(-updates|-security|-backports)?$'

debian_mirror() {
    if [[ -n "${DEBIAN_MIRROR:-}" ]]; then printf '%s\n' "$DEBIAN_MIRROR"; return; fi
    local uri
    uri=$(_apt_source_pairs | awk -v re="$_DEBIAN_SUITES" '$2 ~ re && $2 !~ /-(security|updates|backports)$/ { print $1; exit }')
    [[ -n "$uri" ]] || { echo "no Debian archive in the configured apt sources (/etc/apt/sources.list*): this is not a Debian machine, or its sources name none; set DEBIAN_MIRROR to a Debian mirror" >&2; return 1; }
    printf '%s\n' "${uri%/}"
}

debian_security_mirror() {
    if [[ -n "${DEBIAN_SECURITY_MIRROR:-}" ]]; then printf '%s\n' "$DEBIAN_SECURITY_MIRROR"; return; fi
    _apt_source_pairs | awk -v re="$_DEBIAN_SUITES" '$2 ~ re && $2 ~ /-security$/ { sub(/\/$/, "", $1); print $1; exit }'
}

apt_with_suite() {
    local suite=$1; shift
    local mirror dir
    mirror=$(debian_mirror) || return 1
    dir=$(mktemp -d "${TMPDIR:-/tmp}/benchhost-apt.XXXXXX")
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
    printf 'deb %s %s main\n' "$mirror" "$suite" >"$dir/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
                -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
    local rc=0
    apt-get "${opts[@]}" -q update >/dev/null && apt-get "${opts[@]}" "$@" || rc=$?
    rm -rf "$dir"
    return "$rc"
}

# apt_private_init DIR SUITE: a private apt state in DIR (created) whose sources are SUITE of
# debian_mirror (`deb` and `deb-src`, plus SUITE-updates) and, when the configured sources have
# one, SUITE-security of debian_security_mirror; runs `apt-get update` on it once and sets the
# array APT_PRIVATE_OPTS, so `apt-get "${APT_PRIVATE_OPTS[@]}" download|source …` and
# `apt-cache "${APT_PRIVATE_OPTS[@]}" …` use only it (the machine's own state is not touched).
APT_PRIVATE_OPTS=()
apt_private_init() {
    local dir=$1 suite=$2 mirror sec
    mirror=$(debian_mirror) || return 1
    sec=$(debian_security_mirror)
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/etc/preferences.d"
    {
        printf 'deb %s %s main\ndeb-src %s %s main\n' "$mirror" "$suite" "$mirror" "$suite"
        printf 'deb %s %s-updates main\ndeb-src %s %s-updates main\n' "$mirror" "$suite" "$mirror" "$suite"
        if [[ -n "$sec" ]]; then
            printf 'deb %s %s-security main\ndeb-src %s %s-security main\n' "$sec" "$suite" "$sec" "$suite"
        fi
    } >"$dir/sources.list"
    APT_PRIVATE_OPTS=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
                      -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$dir/etc/preferences.d"
                      -o "Dir::State::Lists=$dir/lists" -o "Dir::State::Status=/dev/null" -o "Dir::Cache=$dir/cache"
                      -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root" -o "APT::Architecture=amd64")
    apt-get "${APT_PRIVATE_OPTS[@]}" -q update >/dev/null
}
