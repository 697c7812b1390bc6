#!/usr/bin/env bash
# Installs the third-party oracles Signet's tests are judged by.
#
# usage: tests/interop/setup.sh [VENV]        (default: target/interop-venv under the repository)
#
# - Debian packages, when a tool is missing: xmlsec1, poppler-utils (pdfsig), libnss3-tools
#   (certutil), libxml2-utils (xmllint), softhsm2, opensc (pkcs11-tool), openssl, curl,
#   python3-venv. Installed with apt-get as root (or through sudo).
# - A Python venv with the pinned versions of tests/interop/requirements.txt (pyHanko and its
#   CLI, signxml, jwcrypto, rfc3161-client, ...). Re-running it is cheap: pip only checks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${1:-$repo/target/interop-venv}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
want() { # want COMMAND-OR-FILE PACKAGE
  if [[ $1 == /* ]]; then [ -e "$1" ] || missing+=("$2"); else command -v "$1" >/dev/null || missing+=("$2"); fi
}
want xmlsec1 xmlsec1
want pdfsig poppler-utils
want certutil libnss3-tools
want xmllint libxml2-utils
want /usr/lib/softhsm/libsofthsm2.so softhsm2
want pkcs11-tool opensc
want openssl openssl
want curl curl
want python3 python3
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  # apt may be busy right after boot (unattended upgrades): try a few times.
  for attempt in 1 2 3 4 5; do
    if as_root apt-get update -qq &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
      break
    fi
    [ "$attempt" = 5 ] && { echo "setup.sh: apt-get could not install ${missing[*]}" >&2; exit 1; }
    echo "apt-get failed (attempt $attempt), retrying in 10 s" >&2
    sleep 10
  done
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$here/requirements.txt"
echo "interop oracles ready: $venv"
