#!/usr/bin/env bash
# Third-party judges of what Signet produces. Exits 0 only if every judge of the kind accepts.
#
#   validate.sh pades SIGNED.pdf CA.pem          pyHanko (signature + chain) and poppler's pdfsig
#   validate.sh cades SIG.p7s DATA|- CA.pem      openssl cms -verify; for detached data also pyHanko
#                                                ('-': the content is inside the signature)
#   validate.sh xades SIGNED.xml CA.pem [DOC]    xmlsec1 (XML-DSig core) and signxml's XAdESVerifier
#                                                (DOC: the document of a detached signature)
#   validate.sh jades SIG.json CA.pem [PAYLOAD]  jwcrypto (JWS value, x5c chain to CA, crit names)
#   validate.sh tst TOKEN.der DATA CA.pem        openssl ts -verify (RFC 3161 token over DATA)
#   validate.sh dssx MESSAGE.xml                 xmllint --nonet against the DSS-X 2.0 core XSD
#
# The Python judges run in the venv of tests/interop/setup.sh: $INTEROP_VENV, by default
# target/interop-venv of this repository.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${INTEROP_VENV:-$repo/target/interop-venv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

usage() { sed -n '2,14p' "$0" >&2; exit 2; }
need_venv() {
  [ -x "$venv/bin/python" ] || { echo "validate.sh: no venv at $venv (run tests/interop/setup.sh)" >&2; exit 2; }
}

pades() { # SIGNED CA
  need_venv
  # pyHanko prints one "FIELD:SUMMARY" line per signature; all must end in VALID.
  "$venv/bin/pyhanko" sign validate --trust "$2" --trust-replace --executive-summary "$1" | tee "$work/pyhanko"
  if grep -qv ':VALID$' "$work/pyhanko"; then echo "pyHanko: a signature is not VALID" >&2; return 1; fi
  # pdfsig trusts only what is in an NSS database.
  certutil -N -d "sql:$work" --empty-password >/dev/null
  certutil -A -d "sql:$work" -n signet-ca -t "CT,C,C" -i "$2"
  pdfsig -nssdir "sql:$work" "$1" | tee "$work/pdfsig"
  grep -q 'Signature is Valid' "$work/pdfsig" || { echo "pdfsig: no valid signature" >&2; return 1; }
  if grep -Eq 'Signature is Invalid|not Trusted|isn.t Trusted' "$work/pdfsig"; then
    echo "pdfsig: a signature is invalid or untrusted" >&2; return 1
  fi
}

cades() { # SIG DATA|- CA
  local content=()
  [ "$2" = - ] || content=(-content "$2")
  openssl cms -verify -binary -inform DER -in "$1" "${content[@]}" -CAfile "$3" -purpose any -out /dev/null
  if [ "$2" != - ]; then
    need_venv
    "$venv/bin/pyhanko" sign validate --trust "$3" --trust-replace --detached "$1" --executive-summary "$2" |
      tee "$work/pyhanko"
    grep -Eq '(^|:)VALID$' "$work/pyhanko" || { echo "pyHanko: detached CAdES not VALID" >&2; return 1; }
  fi
}

xades() { # SIGNED CA [DOC]
  local signed ca
  signed=$(realpath "$1") ca=$(realpath "$2")
  if [ $# = 3 ]; then
    # A detached signature names its document by a URI relative to where it is checked:
    # xmlsec1 resolves it from the working folder, so run it in the document's folder.
    (cd "$(dirname "$(realpath "$3")")" && xmlsec1 --verify --trusted-pem "$ca" --id-attr:Id SignedProperties "$signed")
  else
    xmlsec1 --verify --trusted-pem "$ca" --id-attr:Id SignedProperties "$signed"
  fi
  need_venv
  "$venv/bin/python" "$here/judges.py" xades "$signed" "$ca" ${3:+"$(realpath "$3")"}
}

jades() { # SIG CA [PAYLOAD]
  need_venv
  "$venv/bin/python" "$here/judges.py" jades "$@"
}

tst() { # TOKEN DATA CA
  openssl ts -verify -in "$1" -token_in -data "$2" -CAfile "$3"
}

dssx() { # MESSAGE
  xmllint --noout --nonet --schema "$repo/tests/spec/dss-x/oasis-dss-core-schema-v2.0.xsd" "$1"
}

kind=${1:-}
[ $# -ge 2 ] || usage
shift
case $kind in
pades) [ $# = 2 ] || usage; pades "$@" ;;
xades) [ $# = 2 ] || [ $# = 3 ] || usage; xades "$@" ;;
cades | tst) [ $# = 3 ] || usage; "$kind" "$@" ;;
jades) [ $# = 2 ] || [ $# = 3 ] || usage; jades "$@" ;;
dssx) [ $# = 1 ] || usage; dssx "$1" ;;
*) usage ;;
esac
