#!/usr/bin/env python3
"""The Python judges behind validate.sh: independent libraries, not written for Signet.

  judges.py xades SIGNED.xml CA.pem [DOC]      signxml's XAdESVerifier (XAdES signed properties,
                                               signing certificate digest, chain to CA); DOC is
                                               the document a detached signature refers to
  judges.py jades SIG.json CA.pem [PAYLOAD]    jwcrypto: the JWS value under the x5c leaf key, the
                                               x5c chain up to CA, and every `crit` name understood

Exit status 0 means the library accepted the signature.
"""
import base64
import sys


def xades(signed: str, ca: str, doc: str | None = None) -> None:
    from signxml.xades import XAdESVerifier

    def resolve(uri: str) -> bytes:
        # The one external reference of a detached signature: the document given.
        if doc is None:
            raise ValueError(f'external reference {uri!r} but no document given')
        with open(doc, 'rb') as d:
            return d.read()

    with open(signed, 'rb') as f:
        XAdESVerifier().verify(f.read(), ca_pem_file=ca, uri_resolver=resolve)
    print('signxml: XAdES signature verified')


# JAdES header parameters (ETSI TS 119 182-1 §5.1-5.2) that may be listed in `crit`; jwcrypto
# refuses a critical name it was not told about, as RFC 7515 §4.1.11 requires.
JADES_HEADERS = ('sigT', 'sigD', 'x5t#o', 'sigX5ts', 'srCms', 'sigPl', 'srAts', 'sigPId', 'adoTst')


def jades(sig: str, ca: str, payload: str | None = None) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from jwcrypto import jwk, jws
    from jwcrypto.common import JWSEHeaderParameter

    with open(sig) as f:
        token = f.read().strip()
    with open(ca, 'rb') as f:
        anchor = x509.load_pem_x509_certificate(f.read())
    registry = {name: JWSEHeaderParameter(name, False, True, None) for name in JADES_HEADERS}
    verifier = jws.JWS(header_registry=registry)
    verifier.deserialize(token)
    # General serialization with several signatures: judge the first one's header here;
    # verify() below checks every signature.
    header = verifier.jose_header
    if isinstance(header, list):
        header = header[0]
    if 'sigT' not in header:
        sys.exit('JAdES baseline B-B needs sigT in the protected header')
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header['x5c']]
    for child, parent in zip(chain, chain[1:]):
        child.verify_directly_issued_by(parent)
    if chain[-1].subject != anchor.subject:
        chain[-1].verify_directly_issued_by(anchor)
    leaf_key = chain[0].public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    key = jwk.JWK.from_pem(leaf_key)
    if payload:
        with open(payload, 'rb') as f:
            verifier.verify(key, detached_payload=f.read())
    else:
        verifier.verify(key)
    print('jwcrypto: JWS verified; protected header', sorted(header))


if __name__ == '__main__':
    judges = {'xades': xades, 'jades': jades}
    if len(sys.argv) < 4 or sys.argv[1] not in judges:
        sys.exit(__doc__)
    judges[sys.argv[1]](*sys.argv[2:])
