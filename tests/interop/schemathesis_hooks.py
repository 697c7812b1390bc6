"""Request bodies schemathesis cannot make from a JSON schema: DER OCSP requests
(`application/ocsp-request`) and RFC 3161 time-stamp requests (`application/timestamp-query`).

Loaded by crates/signet-cli/tests/openapi.rs through SCHEMATHESIS_HOOKS. Each body is a
well-formed request, one with a few bytes changed, a truncated one, or arbitrary bytes, so that
both the happy path and the DER readers are exercised.
"""

import hashlib
import json
import os

import schemathesis
from asn1crypto import algos, core, ocsp, tsp
from hypothesis import strategies as st


def _ocsp_requests():
    out = []
    for serial, nonce in [(1, None), (0x1234567890ABCDEF, b"\x01" * 16), (2**159 - 1, None)]:
        cert_id = ocsp.CertId(
            {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha1"}),
                "issuer_name_hash": hashlib.sha1(b"issuer name").digest(),
                "issuer_key_hash": hashlib.sha1(b"issuer key").digest(),
                "serial_number": serial,
            }
        )
        tbs = {"request_list": [{"req_cert": cert_id}]}
        if nonce is not None:
            tbs["request_extensions"] = [
                {"extn_id": "nonce", "critical": False, "extn_value": core.OctetString(nonce)}
            ]
        out.append(ocsp.OCSPRequest({"tbs_request": tbs}).dump())
    return out


def _timestamp_requests():
    out = []
    for name, nonce, cert_req in [("sha256", None, True), ("sha384", 42, False), ("sha512", 2**63, True)]:
        digest = hashlib.new(name, b"schemathesis").digest()
        req = {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": name}),
                "hashed_message": digest,
            },
            "cert_req": cert_req,
        }
        if nonce is not None:
            req["nonce"] = nonce
        out.append(tsp.TimeStampReq(req).dump())
    return out


def _mutated(samples):
    @st.composite
    def strategy(draw):
        body = bytearray(draw(st.sampled_from(samples)))
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(body) - 1))
            body[at] = draw(st.integers(0, 255))
        return bytes(body)

    return strategy()


def _bodies(samples):
    return st.one_of(
        st.sampled_from(samples),
        _mutated(samples),
        st.sampled_from(samples).flatmap(lambda b: st.integers(0, len(b) - 1).map(lambda n: b[:n])),
        st.binary(max_size=512),
    )


schemathesis.openapi.media_type("application/ocsp-request", _bodies(_ocsp_requests()))
schemathesis.openapi.media_type("application/timestamp-query", _bodies(_timestamp_requests()))


# Real values of the server under test (env SIGNET_SCHEMATHESIS_VALUES, a JSON object of member
# name, or "<path> <member>" for one operation, -> candidate values): half of the generated
# bodies and query strings get them in place of the random ones, so that requests also get past
# "unknown credential" or "unknown client" and reach signing, the consent pages and the token
# endpoint, whose answers are then checked too. A member is replaced by the first candidate of
# the generated value's JSON type; a `null` candidate removes the member.
_VALUES = json.loads(os.environ.get("SIGNET_SCHEMATHESIS_VALUES", "{}"))


def _with_real_values(path, value):
    if not isinstance(value, dict) or not _VALUES:
        return value
    out = dict(value)
    for name, generated in value.items():
        for candidate in _VALUES.get(f"{path} {name}", _VALUES.get(name, [])):
            if candidate is None:
                del out[name]
                break
            if type(candidate) is type(generated):
                out[name] = candidate
                break
    return out


def _either(ctx, value):
    path = ctx.operation.path if ctx.operation is not None else ""
    return st.sampled_from([value, _with_real_values(path, value)])


@schemathesis.hook
def flatmap_body(ctx, body):
    return _either(ctx, body)


@schemathesis.hook
def flatmap_query(ctx, query):
    return _either(ctx, query)
