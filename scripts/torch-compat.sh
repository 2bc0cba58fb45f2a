#!/usr/bin/env bash
# torch-compat.sh - give TorchSharp a libstdc++ with GLIBCXX_3.4.32 on hosts that lack it (Debian 12).
#
# Usage:
#   DOTNET=$(scripts/torch-compat.sh)              # set up (or reuse) the compat copy
#   DOTNET_ROOT=$(dirname "$DOTNET") "$DOTNET" test ...
#   scripts/torch-compat.sh --check                # exit 0 (and print the muxer) if the compat copy
#                                                  # exists and works, else 1; never downloads
#
# libLibTorchSharp.so (TorchSharp 0.107) needs GLIBCXX_3.4.32 (GCC 13). When the system libstdc++
# has it, this prints the system dotnet muxer and does nothing else (--check then exits 0 too).
# Otherwise it downloads (does not install) Debian 13 (trixie) libc6, libstdc++6 and libgcc-s1,
# unpacks them into one folder R (<cache>/root), makes a copy of the dotnet root (hard links, except
# the muxer which is a real copy) and points the copy's muxer at R's loader and libraries with
# patchelf (interpreter + RUNPATH). The muxer loads R's libstdc++ once and every library loaded later
# (TorchSharp included) reuses it. LD_LIBRARY_PATH is never used: programs started under the system
# loader with it crash.
#
# Only processes started through the patched muxer get the new libstdc++: `dotnet test` and
# `dotnet app.dll` do; an apphost (bin/.../app, also what `dotnet run` starts) does not, so use
# `dotnet run -p:UseAppHost=false` or `dotnet bin/.../app.dll`.
#
# The last line of stdout is the absolute path of the dotnet muxer to use; all logging goes to stderr.
# The apt URI is taken from this machine's own apt sources; no host name is written here.
#
# Environment:
#   HARNESS_TORCH_COMPAT_DIR   cache folder (default: <repo>/.tools/torch-compat)
#   HARNESS_TORCH_COMPAT_SUITE Debian suite to take the libraries from (default: trixie)
#   HARNESS_TORCH_COMPAT_SYSTEM_LIBSTDCXX  the libstdc++ to test (default: the system one; for tests)
#
# Exit codes: 0 ok, 1 not usable / failed, 2 bad usage.
set -euo pipefail

NEEDED_SYMBOL=GLIBCXX_3.4.32
# Overridable only to exercise the "no compat needed" branch in tests.
SYS_LIBSTDCXX=${HARNESS_TORCH_COMPAT_SYSTEM_LIBSTDCXX:-/usr/lib/x86_64-linux-gnu/libstdc++.so.6}
LIBDIR_REL=usr/lib/x86_64-linux-gnu
LOADER_NAME=ld-linux-x86-64.so.2
SUITE=${HARNESS_TORCH_COMPAT_SUITE:-trixie}
PACKAGES=(libc6 libstdc++6 libgcc-s1)

log() { printf 'torch-compat: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

mode=setup
case "${1:-}" in
    "") ;;
    --check) mode=check ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { usage >&2; exit 2; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cache=${HARNESS_TORCH_COMPAT_DIR:-$repo/.tools/torch-compat}
case "$cache" in /*) ;; *) cache=$PWD/$cache ;; esac
R=$cache/root              # unpacked Debian 13 libraries: $R/usr/lib/x86_64-linux-gnu
COPY=$cache/dotnet         # copy of the dotnet root with the patched muxer
STAMP=$cache/dotnet.stamp  # what $COPY was made from
R_LIB=$R/$LIBDIR_REL
R_LOADER=$R_LIB/$LOADER_NAME

has_symbol() { [ -f "$1" ] && grep -aqF "$NEEDED_SYMBOL" "$1"; }

# The system dotnet root: dirname of the real path of `dotnet` on PATH.
find_system_dotnet() {
    local d
    d=$(command -v dotnet 2>/dev/null) || die "no dotnet on PATH"
    d=$(readlink -f "$d")
    case "$d" in
        "$cache"/*) die "dotnet on PATH ($d) is the compat copy itself; put the system dotnet first on PATH" ;;
    esac
    [ -x "$d" ] || die "dotnet on PATH does not resolve to an executable ($d)"
    printf '%s\n' "$d"
}

[ "$(uname -m)" = x86_64 ] || die "only x86_64 Linux is supported (this is $(uname -m))"

sys_dotnet=$(find_system_dotnet)
sys_root=$(dirname "$sys_dotnet")

if has_symbol "$SYS_LIBSTDCXX"; then
    log "system libstdc++ has $NEEDED_SYMBOL: no compat needed"
    printf '%s\n' "$sys_dotnet"
    exit 0
fi

# Identity of the system dotnet root and of R: a change rebuilds the copy.
fingerprint() {
    printf 'source=%s\nR=%s\n' "$sys_root" "$R"
    stat -c 'muxer %s %Y %i' "$sys_dotnet"
    (cd "$sys_root" && ls -1d host/fxr/* sdk/* shared/*/* packs/* sdk-manifests/* 2>/dev/null || true)
    cat "$R/.debs" 2>/dev/null || true
}

# Works = the stamp matches, the muxer's libstdc++ resolves into R and has the symbol, and it runs.
copy_ok() {
    local resolved
    [ -x "$COPY/dotnet" ] && [ -f "$STAMP" ] && [ -f "$R/.debs" ] || return 1
    [ "$(cat "$STAMP")" = "$(fingerprint)" ] || { log "compat copy is stale"; return 1; }
    has_symbol "$R_LIB/libstdc++.so.6" || return 1
    # Run by its own (patched) interpreter in list mode: prints where each library resolves.
    resolved=$(LD_TRACE_LOADED_OBJECTS=1 "$COPY/dotnet" 2>/dev/null | awk '$1 == "libstdc++.so.6" { print $3 }') || return 1
    [ "$resolved" = "$R_LIB/libstdc++.so.6" ] || { log "muxer resolves libstdc++ to '${resolved}', not $R_LIB"; return 1; }
    DOTNET_ROOT=$COPY "$COPY/dotnet" --list-runtimes >/dev/null 2>&1 || { log "compat muxer does not run"; return 1; }
}

if [ "$mode" = check ]; then
    if copy_ok; then
        log "compat copy ok: $COPY"
        printf '%s\n' "$COPY/dotnet"
        exit 0
    fi
    log "no working compat copy in $cache (run scripts/torch-compat.sh without --check)"
    exit 1
fi

if copy_ok; then
    printf '%s\n' "$COPY/dotnet"
    exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
# Another run may have finished the work while we waited.
if copy_ok; then
    printf '%s\n' "$COPY/dotnet"
    exit 0
fi

# --- 1. the apt URI of this machine's Debian archive ------------------------------------------------
# Prints "URI<TAB>signed-by-file-or-empty" of the first enabled `deb` entry whose suites include this
# release's codename (e.g. bookworm; not -security/-updates), from one-line and deb822 sources.
find_debian_source() {
    local codename
    codename=$(. /etc/os-release 2>/dev/null && printf '%s' "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
    local files=()
    [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
    local f
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || die "no apt sources found in /etc/apt"
    for f in "${files[@]}"; do
        case "$f" in
            *.sources)
                awk -v want="$codename" '
                    function flush() {
                        if (types ~ /(^| )deb( |$)/ && enabled !~ /^(no|false)$/ && uris != "") {
                            n = split(suites, s, " ")
                            for (i = 1; i <= n; i++) if (s[i] == want) {
                                split(uris, u, " "); print u[1] "\t" signed; found = 1; exit
                            }
                        }
                        types = ""; uris = ""; suites = ""; signed = ""; enabled = ""; key = ""
                    }
                    /^[ \t]*#/ { next }
                    /^[ \t]*$/ { flush(); next }
                    /^[ \t]/ { next }   # continuation line (e.g. an inline key)
                    {
                        key = tolower($0); sub(/:.*/, "", key)
                        val = $0; sub(/^[^:]*:[ \t]*/, "", val); gsub(/[ \t]+/, " ", val); sub(/ $/, "", val)
                        if (key == "types") types = val
                        else if (key == "uris") uris = val
                        else if (key == "suites") suites = val
                        else if (key == "enabled") enabled = tolower(val)
                        else if (key == "signed-by" && val ~ /^\//) signed = val
                    }
                    END { if (!found) flush() }
                ' "$f"
                ;;
            *)
                awk -v want="$codename" '
                    $1 != "deb" { next }
                    {
                        line = $0; signed = ""
                        if (match(line, /\[[^]]*\]/)) {
                            opts = substr(line, RSTART + 1, RLENGTH - 2)
                            line = substr(line, 1, RSTART - 1) substr(line, RSTART + RLENGTH)
                            if (match(opts, /signed-by=[^ ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
                        }
                        n = split(line, w, " ")
                        if (n >= 3 && w[3] == want) { print w[2] "\t" signed; exit }
                    }
                ' "$f"
                ;;
        esac
    done | head -n 1
}

# --- 2. R: Debian 13 libc6, libstdc++6, libgcc-s1 unpacked -------------------------------------------
make_R() {
    local src uri signed aptdir debs opts
    src=$(find_debian_source)
    [ -n "$src" ] || die "no Debian archive entry for this release found in the apt sources"
    uri=${src%%$'\t'*}
    signed=${src#*$'\t'}
    [ -n "$signed" ] && [ ! -f "$signed" ] && signed=""
    log "taking $SUITE libraries from the apt URI of this machine's sources"

    aptdir=$cache/apt
    debs=$cache/debs
    rm -rf "$aptdir/lists/partial" "$debs"
    mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$debs"
    opts=${signed:+ [signed-by=$signed]}
    printf 'deb%s %s %s main\n' "$opts" "$uri" "$SUITE" >"$aptdir/sources.list"

    local apt_opts=(
        -o "Dir::Etc::SourceList=$aptdir/sources.list"
        -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$aptdir/lists"
        -o "Dir::Cache=$aptdir/cache"
        -o Dir::Etc::Preferences=/dev/null
        -o Dir::Etc::PreferencesParts=/dev/null
        -o Acquire::Languages=none
        -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false
    )
    # apt drops to the _apt user for downloads; it must be able to write where the files go.
    if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
        chown _apt "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$debs"
    fi

    log "apt-get update ($SUITE, main)"
    apt-get -q "${apt_opts[@]}" update >&2 || die "apt-get update for $SUITE failed"
    log "apt-get download ${PACKAGES[*]} ($SUITE)"
    local specs=() p
    for p in "${PACKAGES[@]}"; do specs+=("$p/$SUITE"); done
    (cd "$debs" && apt-get -q "${apt_opts[@]}" download "${specs[@]}" >&2) || die "apt-get download failed"

    rm -rf "$R.tmp"
    mkdir -p "$R.tmp"
    local deb
    for deb in "$debs"/*.deb; do
        dpkg -x "$deb" "$R.tmp"
    done
    [ -e "$R.tmp/$LIBDIR_REL/$LOADER_NAME" ] || die "no $LOADER_NAME in the unpacked libc6"
    has_symbol "$R.tmp/$LIBDIR_REL/libstdc++.so.6" || die "the $SUITE libstdc++ has no $NEEDED_SYMBOL"
    (cd "$debs" && ls -1 -- *.deb) >"$R.tmp/.debs"
    rm -rf "$R"
    mv "$R.tmp" "$R"
    rm -rf "$debs" "$aptdir"   # the trixie index (~20 MB) is only needed to download
    log "libraries unpacked in $R_LIB"
}

if [ -f "$R/.debs" ] && [ -e "$R_LOADER" ] && has_symbol "$R_LIB/libstdc++.so.6"; then
    log "reusing $R"
else
    make_R
fi

# --- 3. patchelf -------------------------------------------------------------------------------------
if ! command -v patchelf >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "patchelf is missing and this is not root: apt-get install patchelf"
    log "installing patchelf"
    # A fresh machine has no package lists yet: update once first.
    apt-cache show patchelf >/dev/null 2>&1 || apt-get update -q >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q patchelf >&2 || die "cannot install patchelf"
fi

# --- 4. the copy of the dotnet root with the patched muxer -------------------------------------------
log "copying $sys_root to $COPY"
tmp=$COPY.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
if ! cp -al "$sys_root/." "$tmp/" 2>/dev/null; then
    log "hard links failed (another filesystem?): making a full copy"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    cp -a "$sys_root/." "$tmp/"
fi
# The muxer must be its own file: patching a hard link would patch the system dotnet.
rm -f "$tmp/dotnet"
cp -p "$sys_dotnet" "$tmp/dotnet"
patchelf --set-interpreter "$R_LOADER" --set-rpath "$R_LIB" "$tmp/dotnet"
rm -rf "$COPY"
mv "$tmp" "$COPY"
fingerprint >"$STAMP"

copy_ok || die "the patched muxer $COPY/dotnet does not work"
log "compat dotnet ready: use DOTNET_ROOT=$COPY $COPY/dotnet"
printf '%s\n' "$COPY/dotnet"
