#!/usr/bin/env python3
"""Writes the text seed corpora (CSC v1/v2 bodies, OAuth2 queries and forms, DSS-X requests,
judge inputs) into fuzz/corpus/, in the shapes the end-to-end tests send (crates/signet-cli/
tests/*.rs). Run from the repository root; the files are committed, minimised by
`scripts/fuzz --cmin`."""
import base64, json, os, hashlib, urllib.parse

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
METHODS = ["info", "auth/login", "auth/revoke", "credentials/list", "credentials/info",
           "credentials/authorize", "credentials/authorizeCheck", "credentials/extendTransaction",
           "signatures/signHash", "signatures/signDoc", "signatures/timestamp"]
SHA256, SHA384 = "2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.2"
ES256, RS256, RSA, PSS = "1.2.840.10045.4.3.2", "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.1", "1.2.840.113549.1.1.10"
# RSASSA-PSS-params: SHA-256, MGF1 SHA-256, salt 32 (DER).
PSS_PARAMS = base64.b64encode(bytes.fromhex(
    "3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120")).decode()
H1 = base64.b64encode(hashlib.sha256(b"one").digest()).decode()
H2 = base64.b64encode(hashlib.sha256(b"two").digest()).decode()
H384 = base64.b64encode(hashlib.sha384(b"one").digest()).decode()
PIN, OTP = "20481024", "123456"
SAD = "c2FkLWZyb20tYXV0aG9yaXplLWV4YW1wbGUtdG9rZW4"
PDF = (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
       b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\nxref\n0 4\n0000000000 65535 f \n"
       b"0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \ntrailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n")
XML = b'<?xml version="1.0"?><doc xmlns="urn:x"><a id="a1">text</a></doc>'


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def b64(b):
    return base64.b64encode(b).decode()


def csc(version, method, body, name, key=0, header=None):
    sel = METHODS.index(method) + 11 * key
    text = json.dumps(body).encode() if not isinstance(body, bytes) else body
    if header is not None:
        text = header.encode() + b"\n" + text
    write(f"csc_{version}_request", f"{method.replace('/', '-')}-{name}", bytes([sel]) + text)


for v in ("v1", "v2"):
    v1 = v == "v1"
    hashes = "hash" if v1 else "hashes"
    csc(v, "info", b"", "empty")
    csc(v, "info", {"lang": "en-US"}, "lang")
    csc(v, "auth/login", {"rememberMe": True}, "basic",
        header="Basic " + b64(b"alice:correct horse battery staple"))
    csc(v, "auth/login", {"refresh_token": "cmVmcmVzaC10b2tlbi1mb3ItdGhlLWZ1enplcg"}, "refresh", header="")
    csc(v, "auth/revoke", {"token": "dG9rZW4tdG8tcmV2b2tlLWZ1enp5", "token_type_hint": "refresh_token"}, "hint")
    csc(v, "credentials/list", {"credentialInfo": True, "certificates": "chain", "certInfo": True,
                               "authInfo": True, "onlyValid": True, "lang": "en-US", "maxResults": 10,
                               "userID": None}, "all")
    csc(v, "credentials/info", {"credentialID": "cred-1", "certificates": "single", "certInfo": True,
                               "authInfo": True}, "cert")
    if v1:
        csc(v, "credentials/authorize", {"credentialID": "cred-1", "numSignatures": 2, "hash": [H1, H2],
                                        "PIN": PIN, "OTP": OTP, "description": "Contract"}, "explicit")
    else:
        csc(v, "credentials/authorize", {"credentialID": "cred-1", "numSignatures": 2, "hashes": [H1, H2],
                                        "hashAlgorithmOID": SHA256,
                                        "authData": [{"id": "PIN", "value": PIN}, {"id": "OTP", "value": OTP}],
                                        "description": "Contract"}, "explicit")
        csc(v, "credentials/authorize", {"credentialID": "cred-1", "numSignatures": "1", "hashes": [H1],
                                        "authData": [{"id": "PIN"}, {"id": "OTP", "value": None}]}, "oob")
    csc(v, "credentials/authorize", {"credentialID": "cred-1", "numSignatures": 1, "PIN": PIN}, "scal1")
    csc(v, "credentials/authorizeCheck", {"handle": "aGFuZGxlLW9mLWRlY291cGxlZA"}, "handle")
    csc(v, "credentials/extendTransaction", {"credentialID": "cred-1", "SAD": SAD, hashes: [H1],
                                            "hashAlgorithmOID": SHA256}, "hashes")
    for key, (algo, extra) in enumerate([(ES256, {}), (RS256, {"hashAlgorithmOID": SHA256}),
                                         (RSA, {"hashAlgo": SHA256}), (PSS, {"signAlgoParams": PSS_PARAMS})]):
        body = {"credentialID": "cred-1", "SAD": SAD, hashes: [H1, H2], "signAlgo": algo,
                "operationMode": "S", "clientData": "x"}
        body.update(extra)
        csc(v, "signatures/signHash", body, f"algo{key}", key=[0, 2, 2, 2][key])
    csc(v, "signatures/timestamp", {"hash": H1, "hashAlgo": SHA256, "nonce": "00ff10", "clientData": "c"}, "nonce")
    csc(v, "signatures/timestamp", {"hash": H384, "hashAlgorithmOID": SHA384}, "sha384")
    for fmt, level, env, doc, props in [
        ("P", "Ades-B-B", "Certification", PDF, [{"attribute_name": "Reason", "attribute_value": "Approved"},
                                                 {"attribute_name": "Location", "attribute_value": "Brussel"}]),
        ("X", "AdES-B-T", "Enveloped", XML, [{"attribute_name": "commitment-type-indication",
                                              "attribute_value": "proofOfApproval"}]),
        ("J", "B-LT", "Attached", b'{"a":1}', []),
        ("C", "Ades-B-LTA", "Detached", b"plain text", []),
    ]:
        body = {"credentialID": "cred-1", "SAD": SAD, "documents": [{
            "document": b64(doc), "signature_format": fmt, "conformance_level": level,
            "signAlgo": ES256, "signed_envelope_property": env, "signed_props": props}],
            "returnValidationInfo": True, "operationMode": "S"}
        csc(v, "signatures/signDoc", body, f"documents-{fmt}")
    body = {"credentialID": "cred-1", "SAD": SAD, "hashAlgorithmOID": SHA256, "documentDigests": [{
        "hashes": [H1, H2], "signature_format": "C", "conformance_level": "Ades-B-B", "signAlgo": ES256,
        "signed_envelope_property": "Detached"}], "returnValidationInformation": False}
    csc(v, "signatures/signDoc", body, "digests")
    body = {"credentialID": "cred-1", "SAD": SAD, "signatureFormat": "P", "conformanceLevel": "Ades-B-B",
            "signAlgo": RS256, "hashAlgo": SHA256, "documentDigests": [{"hash": [H1]}]}
    csc(v, "signatures/signDoc", body, "toplevel", key=2)

# OAuth2 authorize query strings (client "app" public loopback, "web" confidential).
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
rar = json.dumps([{"type": "credential", "credentialID": "cred-1", "hashAlgorithmOID": SHA256,
                   "documentDigests": [{"hash": H1, "label": "Contract"}, {"hash": H2}], "numSignatures": 2}])
queries = {
    "service": [("response_type", "code"), ("client_id", "app"), ("redirect_uri", "http://127.0.0.1:53127/callback"),
                ("scope", "service"), ("state", "st"), ("code_challenge", CHALLENGE), ("code_challenge_method", "S256")],
    "credential": [("response_type", "code"), ("client_id", "web"), ("redirect_uri", "https://c.example/cb"),
                   ("scope", "credential"), ("credentialID", "cred-1"), ("numSignatures", "2"),
                   ("hashes", base64.urlsafe_b64encode(hashlib.sha256(b"1").digest()).decode().rstrip("=") + "," +
                    base64.urlsafe_b64encode(hashlib.sha256(b"2").digest()).decode().rstrip("=")),
                   ("hashAlgorithmOID", SHA256), ("description", "Sign it"), ("code_challenge", CHALLENGE),
                   ("code_challenge_method", "S256"), ("prompt", "login")],
    "rar": [("response_type", "code"), ("client_id", "web"), ("authorization_details", rar),
            ("code_challenge", CHALLENGE), ("code_challenge_method", "S256"), ("redirect_uri", "com.example.app:/cb?x=1")],
    "bad-type": [("response_type", "token"), ("client_id", "app"), ("state", "s")],
}
for name, q in queries.items():
    write("oauth2_authorize", name, urllib.parse.urlencode(q))
    write("oauth2_par", name, "\n" + urllib.parse.urlencode(q))
write("oauth2_par", "basic", "Basic " + b64(b"web:secret") + "\n" + urllib.parse.urlencode(queries["rar"][:1] + queries["rar"][2:]))
tokens = {
    "code": ("", [("grant_type", "authorization_code"), ("code", "Y29kZQ"), ("code_verifier", VERIFIER),
                  ("redirect_uri", "http://127.0.0.1:53127/callback"), ("client_id", "app")]),
    "refresh": ("Basic " + b64(b"web:s%C3%A9cret"), [("grant_type", "refresh_token"), ("refresh_token", "cmVmcmVzaA"),
                                                   ("scope", "service")]),
    "client-credentials": ("", [("grant_type", "client_credentials"), ("client_id", "web"),
                                ("client_secret", "secret"), ("scope", "service")]),
}
for name, (header, form) in tokens.items():
    write("oauth2_token", name, header + "\n" + urllib.parse.urlencode(form))

# DSS-X requests (selector 0 sign, 1 pending, 2 verify).
DSS2, DSB = "http://docs.oasis-open.org/dss-x/ns/core", "http://docs.oasis-open.org/dss-x/ns/base"
SAD_MIME = "application/vnd.etsi.ts119432.sad"
ns = f'xmlns:dss2="{DSS2}" xmlns:dsb="{DSB}"'
doc_xml = f'<dss2:Document ID="d1"><dss2:Base64Data MimeType="application/pdf"><dsb:Value>{b64(PDF)}</dsb:Value></dss2:Base64Data></dss2:Document>'
sign_docs = (f'<dss2:SignRequest {ns} RequestID="r1"><dsb:Profile>http://uri.etsi.org/19432/v1.1.1/creationprofile#</dsb:Profile>'
             f'<dss2:InputDocuments>{doc_xml}</dss2:InputDocuments><dss2:OptionalInputs>'
             f'<dsb:Other MimeType="{SAD_MIME}"><dsb:Value>{b64(SAD.encode())}</dsb:Value></dsb:Other>'
             '<dss2:AddTimestamp>urn:ietf:rfc:3161</dss2:AddTimestamp>'
             '<dss2:SignatureType>urn:etsi:ts:119182-1</dss2:SignatureType>'
             '<dss2:KeySelector><dss2:KeyName>cred-1</dss2:KeyName></dss2:KeySelector>'
             f'<dss2:Properties><dss2:SignedProperties><dss2:Property><dss2:Identifier>Reason</dss2:Identifier><dss2:Value><dsb:Value>{b64(b"ok")}</dsb:Value></dss2:Value></dss2:Property></dss2:SignedProperties></dss2:Properties>'
             '<dss2:IncludeObject/><dss2:SignaturePlacement CreateEnvelopedSignature="true"><dss2:XPathFirstChildOf>/*</dss2:XPathFirstChildOf></dss2:SignaturePlacement>'
             '<dss2:SignatureAlgorithm>http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256</dss2:SignatureAlgorithm>'
             '</dss2:OptionalInputs></dss2:SignRequest>')
sign_hash = (f'<?xml version="1.0" encoding="UTF-8"?><dss2:SignRequest {ns} RequestID="r&amp;2&quot;"><dss2:InputDocuments>'
             f'<dss2:DocumentHash ID="h1"><dss2:DigestInfos><dsb:DigestMethod>http://www.w3.org/2001/04/xmlenc#sha256</dsb:DigestMethod><dsb:DigestValue>{H1}</dsb:DigestValue></dss2:DigestInfos></dss2:DocumentHash>'
             '</dss2:InputDocuments><dss2:OptionalInputs><dss2:EnforceAsynchronousProcessing>true</dss2:EnforceAsynchronousProcessing>'
             '<dss2:IncludeEContent>true</dss2:IncludeEContent></dss2:OptionalInputs></dss2:SignRequest>')
pending = f'<dss2:PendingRequest {ns} RequestID="resp-1"><dsb:Profile>urn:oasis:names:tc:dss:1.0:profiles:asynchronousprocessing:1.0</dsb:Profile></dss2:PendingRequest>'
verify = (f'<dss2:VerifyRequest {ns} RequestID="v1"><dss2:InputDocuments>{doc_xml}</dss2:InputDocuments><dss2:OptionalInputs>'
          '<dsb:Other MimeType="application/vnd.etsi.ts119102-2+xml"></dsb:Other>'
          '<dss2:UseVerificationTime><dss2:SpecificTime>2026-09-21T14:13:20Z</dss2:SpecificTime></dss2:UseVerificationTime>'
          '<dss2:ReturnAugmentedSignature>http://uri.etsi.org/19432/v1.1.1/level#B-LTA</dss2:ReturnAugmentedSignature>'
          f'</dss2:OptionalInputs><dss2:SignatureObject><dss2:Base64Signature><dsb:Value>{b64(b"0")}</dsb:Value></dss2:Base64Signature></dss2:SignatureObject></dss2:VerifyRequest>')
for name, sel, x in [("sign-documents", 0, sign_docs), ("sign-hash", 0, sign_hash), ("pending", 1, pending), ("verify", 2, verify)]:
    write("dssx_xml", name, bytes([sel]) + x.encode())
    write("xml_c14n", "dssx-" + name, x.encode())
jdoc = {"ID": "d1", "b64Data": {"val": b64(PDF), "mimeType": "application/pdf"}}
jsign = {"signReq": {"reqID": "r1", "profile": ["http://uri.etsi.org/19432/v1.1.1/creationprofile#"],
                     "inDocs": {"doc": [jdoc], "docHash": [{"ID": "h1", "dis": [{"alg": "http://www.w3.org/2001/04/xmlenc#sha256", "val": H1}]}]},
                     "optInp": {"other": [{"mimeType": SAD_MIME, "val": b64(SAD.encode())}], "addTimestamp": ["urn:ietf:rfc:3161"],
                                "enforceAsync": True, "sigType": "urn:etsi:ts:119182-1", "keySel": [{"name": "cred-1"}],
                                "props": {"signedProps": {"prop": [{"id": "Reason", "val": {"val": b64(b"ok")}}]}},
                                "incObj": [{}], "incContent": True,
                                "sigPlacement": {"xPathFirstChildOf": "/*", "createEnvelopedSignature": True},
                                "sigAlgo": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"}}}
jpending = {"pendingReq": {"reqID": "resp-1", "profile": ["urn:oasis:names:tc:dss:1.0:profiles:asynchronousprocessing:1.0"]}}
jverify = {"reqID": "v1", "inDocs": {"doc": [jdoc]},
           "optInp": {"other": [{"mimeType": "application/vnd.etsi.ts119102-2+xml"}], "useVerificationTime": {"specTime": "2026-09-21T14:13:20Z"},
                      "returnAugmented": "http://uri.etsi.org/19432/v1.1.1/level#B-LTA", "returnVerificationReport": True},
           "sigObj": [{"b64Sig": {"val": b64(b"0")}}]}
for name, sel, j in [("sign", 0, jsign), ("pending", 1, jpending), ("verify", 2, jverify)]:
    write("dssx_json", name, bytes([sel]) + json.dumps(j).encode())

# judge: arbitrary bytes become structured inputs; a few shapes to start from.
for i, seed in enumerate([bytes(range(64)), b"\x01\x05\x03\x01\x02" + bytes(40) + b"\x01" * 30,
                          b"\x00\x10\x02\x00\x01" + bytes([7, 1, 0] * 8) + b"\xff" * 20]):
    write("judge", f"seed-{i}", seed)
