#!/usr/bin/env bash
# ensure-tool.sh NAME PACKAGE [ENVVAR]
#
# Prints the path of the executable NAME. It looks at $ENVVAR (when given and
# set), then PATH. When the tool is missing and we run as root on Debian, it
# installs PACKAGE from bookworm-backports with apt, adding the backports
# suite to the machine's existing Debian apt source when it is absent (the
# source's own URIs are reused, so no mirror is written into this repository).
# Otherwise it explains how to install the tool and exits non-zero.
set -euo pipefail

name=${1:?usage: ensure-tool.sh NAME PACKAGE [ENVVAR]}
pkg=${2:?usage: ensure-tool.sh NAME PACKAGE [ENVVAR]}
envvar=${3:-}

say() { printf 'ensure-tool: %s\n' "$*" >&2; }

if [ -n "$envvar" ] && [ -n "${!envvar:-}" ]; then
  if [ -x "${!envvar}" ]; then echo "${!envvar}"; exit 0; fi
  say "$envvar=${!envvar} is not an executable file"; exit 1
fi
if p=$(command -v "$name" 2>/dev/null); then echo "$p"; exit 0; fi

howto() {
  say "$name was not found on PATH${envvar:+ and $envvar is not set}."
  say "Install it, for example on Debian bookworm as root:"
  say "  add the 'bookworm-backports' suite to your Debian apt source, then"
  say "  apt-get update && apt-get install -y -t bookworm-backports $pkg"
  say "or point ${envvar:-PATH} at an existing $name binary."
}

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || [ ! -r /etc/os-release ]; then
  howto; exit 1
fi
. /etc/os-release
if [ "${ID:-}" != debian ]; then howto; exit 1; fi
codename=${VERSION_CODENAME:-bookworm}

# Is a backports suite already configured?
has_backports() {
  grep -RqsE "(^|[[:space:]])${codename}-backports([[:space:]]|$)" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}

if ! has_backports; then
  uri=""
  # deb822 sources first (Debian 12 default), then the one-line format.
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri=$(awk -v c="$codename" '
      BEGIN{RS=""; FS="\n"}
      {
        u=""; s=""
        for (i=1;i<=NF;i++) {
          if ($i ~ /^URIs:/)   { sub(/^URIs:[[:space:]]*/,"",$i); u=$i }
          if ($i ~ /^Suites:/) { s=" " $i " " }
        }
        if (u != "" && s ~ (" " c " ") && u !~ /security/) { split(u,a," "); print a[1]; exit }
      }' "$f")
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri=$(awk -v c="$codename" '$1=="deb" && $0 !~ /security/ { for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1)==c) { print $i; exit } } }' /etc/apt/sources.list)
  fi
  if [ -z "$uri" ]; then
    say "no Debian apt source for $codename found to derive a backports source from."
    howto; exit 1
  fi
  say "adding ${codename}-backports (from $uri) to /etc/apt/sources.list.d/idemkit-backports.sources"
  cat >/etc/apt/sources.list.d/idemkit-backports.sources <<SRC
Types: deb
URIs: $uri
Suites: ${codename}-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

say "installing $pkg from ${codename}-backports with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || { say "apt-get update failed"; exit 1; }
if ! apt-get install -y -qq -t "${codename}-backports" "$pkg" >&2; then
  # Some tools (wrk) live in the main suite, not backports.
  apt-get install -y -qq "$pkg" >&2 || { say "apt-get install $pkg failed"; howto; exit 1; }
fi
if p=$(command -v "$name" 2>/dev/null); then echo "$p"; exit 0; fi
say "$pkg was installed but $name is still not on PATH"; exit 1
