#!/usr/bin/env python3
"""Builds a corpus of third-party signatures, good and broken, with its own test PKI.

usage: validation_corpus.py OUTDIR [--crl-url-base URL] [--bench-pdf PDF]

Writes into OUTDIR:
  root.pem, untrusted-root.pem       the trust anchor, and a second root nobody trusts
  intermediate.pem, tsa.pem          the CA under root that issues the signers, and the TSA
  revocation/*.crl                   the CRLs of the three CAs (DER); the revoked signer is on
                                     intermediate.crl
  manifest.json                      one entry per signed file (see below)
  the signed files, and the detached contents they refer to

Producers: pyHanko (PAdES B-B/B-T/B-LT/B-LTA, CAdES), `openssl cms` (CAdES B-B, attached and
detached), xmlsec1 (plain XMLDSig), signxml (XAdES B-B), jwcrypto (JWS with x5c). Broken variants
are made by the same producers, then altered at the byte level where that is the point.

Every manifest entry:
  {file, format: PAdES|CAdES|XAdES|JAdES, producer, detached_content?: FILE, claimed_level?,
   expect: {indication, sub_indication?, level?},
   expect_with_revocation_data: {...},
   pyhanko?: {expect?, expect_with_revocation_data?, why}, note}
`expect` is the EN 319 102-1 result for a validator given the file and root.pem only (no
fetching: what `validation_judge.py FILE --trust root.pem` sees). `expect_with_revocation_data`
is the result when the CRLs of manifest["revocation_data"] are known to the validator too (the
judge's --revinfo; or a server for --crl-url-base). `level` is the baseline level whose elements
the signature carries (levels are cumulative: B-LT needs B-T, B-LTA needs B-LT).
`pyhanko`, on PAdES/CAdES entries only, is what validation_judge.py (pyHanko) answers where that
differs from EN 319 102-1, and why; absent, the judge answers `expect` (no --revinfo) and
`expect_with_revocation_data` (--revinfo with the corpus CRLs) exactly.

Keys, serial numbers, signature values and times are fresh on each run; the rest is the same
every time. Times: signatures (signing-time, signature and content time-stamps) are dated 10
minutes before the run, the CRLs 5 minutes before it (after the signatures, as past validation
needs), document time-stamps at the run; the CRLs are valid 7 days, so validate within a week
(manifest["valid_until"]). No network: the time-stamps come from pyHanko's DummyTimeStamper
with the corpus TSA key (RSA: DummyTimeStamper signs with RSA only), the revocation data from
the CRLs made here. The CRL distribution points name --crl-url-base
(default http://127.0.0.1:9/, the discard port: nothing is ever fetched from it).

--bench-pdf PDF also signs PDF as pyHanko's PAdES B-LTA into OUTDIR/bench-lta.pdf, made as
pades-pyhanko-b-lta.pdf is (not a manifest entry): the file scripts/bench-verify times.
"""
import argparse
import asyncio
import base64
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone

from asn1crypto import cms as a_cms
from asn1crypto import core as a_core
from asn1crypto import crl as a_crl
from asn1crypto import keys as a_keys
from asn1crypto import x509 as a_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONTENT = b'Signet validation corpus: the signed document.\nSecond line of the content.\n'
MARKER = b'Signet validation corpus'

# ---------------------------------------------------------------------------------------------
# The test PKI (cryptography)
# ---------------------------------------------------------------------------------------------


class Party:
    """A key pair and its certificate, in both cryptography's and asn1crypto's form."""

    def __init__(self, name, key, cert):
        self.name = name
        self.key = key
        self.cert = cert

    @property
    def cert_der(self):
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def cert_pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self):
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def a_cert(self):
        return a_x509.Certificate.load(self.cert_der)

    @property
    def a_key(self):
        return a_keys.PrivateKeyInfo.load(
            self.key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def name(cn):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, 'BE'),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'Signet Corpus PKI'),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def issue(
    cn,
    key,
    issuer,
    not_before,
    not_after,
    *,
    ca=False,
    path_len=None,
    tsa=False,
    crl_url=None,
):
    """A certificate for `key` named `cn`, signed by `issuer` (a Party, or None: self-signed)."""
    subject = name(cn)
    issuer_name = subject if issuer is None else issuer.cert.subject
    signing_key = key if issuer is None else issuer.key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if ca:
        usage = dict(digital_signature=False, content_commitment=False, key_cert_sign=True,
                     crl_sign=True)
    else:
        usage = dict(digital_signature=True, content_commitment=not tsa, key_cert_sign=False,
                     crl_sign=False)
    builder = builder.add_extension(
        x509.KeyUsage(key_encipherment=False, data_encipherment=False, key_agreement=False,
                      encipher_only=False, decipher_only=False, **usage),
        critical=True,
    )
    if tsa:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    if crl_url is not None:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(crl_url)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
    cert = builder.sign(signing_key, hashes.SHA256())
    return Party(cn, key, cert)


def make_crl(issuer, this_update, next_update, revoked=()):
    """A CRL of `issuer`; `revoked` is a list of (Party, revocation time)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    for party, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(party.cert.serial_number)
            .revocation_date(when)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


class Pki:
    """Every key, certificate and CRL of the corpus, made relative to `now`."""

    def __init__(self, now, crl_url_base):
        day = timedelta(days=1)
        base = crl_url_base.rstrip('/') + '/'
        self.now = now
        self.root = issue('Corpus Root CA', ec_key(), None, now - 60 * day, now + 3650 * day,
                          ca=True)
        self.intermediate = issue(
            'Corpus Intermediate CA', ec_key(), self.root, now - 60 * day, now + 1825 * day,
            ca=True, path_len=0, crl_url=base + 'root.crl',
        )
        leaf = dict(crl_url=base + 'intermediate.crl')
        self.signer_ec = issue('Corpus Signer EC P-256', ec_key(), self.intermediate,
                               now - 30 * day, now + 365 * day, **leaf)
        self.signer_rsa = issue(
            'Corpus Signer RSA-2048',
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            self.intermediate, now - 30 * day, now + 365 * day, **leaf,
        )
        self.signer_revoked = issue('Corpus Signer Revoked', ec_key(), self.intermediate,
                                    now - 30 * day, now + 365 * day, **leaf)
        self.signer_expired = issue('Corpus Signer Expired', ec_key(), self.intermediate,
                                    now - 30 * day, now - 2 * day, **leaf)
        # RSA: pyHanko's DummyTimeStamper signs with RSA only.
        self.tsa = issue('Corpus TSA', rsa.generate_private_key(public_exponent=65537,
                                                                key_size=2048),
                         self.intermediate, now - 30 * day,
                         now + 730 * day, tsa=True, **leaf)
        self.untrusted_root = issue('Untrusted Root CA', ec_key(), None, now - 60 * day,
                                    now + 3650 * day, ca=True)
        self.signer_untrusted = issue(
            'Untrusted Signer', ec_key(), self.untrusted_root, now - 30 * day,
            now + 365 * day, crl_url=base + 'untrusted-root.crl',
        )
        # The signatures (claimed signing-time, signature and content time-stamps) are dated
        # ten minutes ago; the CRLs five minutes ago, after the signatures, as a validator that
        # fetches them after signing would get them (past certificate validation, EN 319 102-1
        # §5.6.2.1, needs revocation data issued after the best-signature-time). Document
        # time-stamps are made at the real time, after the CRLs they protect.
        # The revoked signer was revoked (keyCompromise) an hour ago, before it signed.
        self.sign_time = now - timedelta(minutes=10)
        self.revocation_time = now - timedelta(hours=1)
        this_update, next_update = now - timedelta(minutes=5), now + 7 * day
        self.crls = {
            'root.crl': make_crl(self.root, this_update, next_update),
            'intermediate.crl': make_crl(
                self.intermediate, this_update, next_update,
                revoked=[(self.signer_revoked, self.revocation_time)],
            ),
            'untrusted-root.crl': make_crl(self.untrusted_root, this_update, next_update),
        }

    def trusted_crls(self):
        return [self.crls['root.crl'], self.crls['intermediate.crl']]


# ---------------------------------------------------------------------------------------------
# Byte-level alterations
# ---------------------------------------------------------------------------------------------


def flip_at(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


def flip_marker(data: bytes) -> bytes:
    """Flips the last letter of the one MARKER in `data` (a byte of signed content)."""
    index = data.find(MARKER)
    if index < 0 or data.find(MARKER, index + 1) >= 0:
        raise RuntimeError('the content marker must occur exactly once')
    return flip_at(data, index + len(MARKER) - 1)


def only(data: bytes, needle: bytes) -> int:
    index = data.find(needle)
    if index < 0 or data.find(needle, index + 1) >= 0:
        raise RuntimeError('expected exactly one occurrence')
    return index


def flip_cms_signature_value(der: bytes) -> bytes:
    """Flips the last byte of the (first) SignerInfo signature value inside a DER CMS."""
    sd = a_cms.ContentInfo.load(der)['content']
    sig = sd['signer_infos'][0]['signature'].native
    return flip_at(der, only(der, sig) + len(sig) - 1)


def resign_signed_attrs(signer_info, party):
    """Signs the (DER, SET OF) signed attributes of `signer_info` again with `party`'s key."""
    tbs = signer_info['signed_attrs'].untag().dump(force=True)
    if isinstance(party.key, ec.EllipticCurvePrivateKey):
        return party.key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return party.key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())


def wrong_message_digest(der: bytes, party) -> bytes:
    """The same CMS with a wrong message-digest attribute, properly signed again: the signature
    value verifies, but the digest it vouches for is not the content's."""
    ci = a_cms.ContentInfo.load(der)
    si = ci['content']['signer_infos'][0]
    attrs = si['signed_attrs']
    for attr in attrs:
        if attr['type'].native == 'message_digest':
            value = attr['values'][0].native
            attr['values'] = [a_core.OctetString(flip_at(value, len(value) - 1))]
    si['signed_attrs'] = a_cms.CMSAttributes(list(attrs))
    si['signature'] = resign_signed_attrs(si, party)
    return ci.dump(force=True)


def without_unsigned_attrs(der: bytes) -> bytes:
    """The same CMS without its SignerInfo's unsigned attributes (the signature time-stamp):
    nothing signed changes."""
    ci = a_cms.ContentInfo.load(der)
    sd = ci['content']
    si = sd['signer_infos'][0]
    # asn1crypto cannot unset an optional field: rebuild the SignerInfo from its other fields
    # (they keep their original encoding).
    fields = {name: si[name] for name, _, _ in a_cms.SignerInfo._fields
              if name != 'unsigned_attrs' and not isinstance(si[name], a_core.Void)}
    sd['signer_infos'] = a_cms.SignerInfos([a_cms.SignerInfo(fields)])
    return ci.dump()


def with_crls(der: bytes, crls) -> bytes:
    """The same CMS with CRLs in SignedData.crls (unsigned: no signature changes)."""
    ci = a_cms.ContentInfo.load(der)
    sd = ci['content']
    sd['crls'] = a_cms.RevocationInfoChoices(
        [a_cms.RevocationInfoChoice({'crl': a_crl.CertificateList.load(c)}) for c in crls]
    )
    return ci.dump()


# ---------------------------------------------------------------------------------------------
# PDF (pyHanko)
# ---------------------------------------------------------------------------------------------


def base_pdf() -> bytes:
    """A one-page PDF whose page content shows MARKER (uncompressed, so a byte can be flipped)."""
    from pyhanko.pdf_utils import generic, writer

    pdf = writer.PdfFileWriter()
    font = pdf.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name('/Type'): generic.pdf_name('/Font'),
                generic.pdf_name('/Subtype'): generic.pdf_name('/Type1'),
                generic.pdf_name('/BaseFont'): generic.pdf_name('/Helvetica'),
            }
        )
    )
    resources = generic.DictionaryObject(
        {
            generic.pdf_name('/Font'): generic.DictionaryObject(
                {generic.pdf_name('/F1'): font}
            )
        }
    )
    text = b'BT /F1 14 Tf 72 760 Td (' + MARKER + b': a PDF document) Tj ET'
    contents = pdf.add_object(generic.StreamObject(stream_data=text))
    media_box = generic.ArrayObject(generic.NumberObject(n) for n in (0, 0, 595, 842))
    pdf.insert_page(writer.PageObject(contents=contents, media_box=media_box,
                                      resources=resources))
    out = io.BytesIO()
    pdf.write(out)
    return out.getvalue()


class Pyhanko:
    """pyHanko signers, time-stamper and validation context over the corpus PKI."""

    def __init__(self, pki: Pki):
        from pyhanko.sign.timestamps import DummyTimeStamper
        from pyhanko_certvalidator import ValidationContext
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        self.pki = pki
        self.chain = SimpleCertificateStore.from_certs([pki.intermediate.a_cert])
        # Signature and content time-stamps at the signing time; document time-stamps now.
        self.timestamper = DummyTimeStamper(
            tsa_cert=pki.tsa.a_cert, tsa_key=pki.tsa.a_key, certs_to_embed=self.chain,
            fixed_dt=pki.sign_time,
        )
        self.doc_timestamper = DummyTimeStamper(
            tsa_cert=pki.tsa.a_cert, tsa_key=pki.tsa.a_key, certs_to_embed=self.chain
        )
        self.vc = lambda: ValidationContext(
            trust_roots=[pki.root.a_cert],
            other_certs=[pki.intermediate.a_cert],
            crls=pki.trusted_crls(),
            allow_fetching=False,
            revocation_mode='hard-fail',
        )

    def signer(self, party, wrong_digest=False):
        from pyhanko.sign.signers import SimpleSigner
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        chain = [self.pki.untrusted_root.a_cert] if party is self.pki.signer_untrusted else [
            self.pki.intermediate.a_cert]
        store = SimpleCertificateStore.from_certs(chain)
        cls = WrongDigestSigner if wrong_digest else SimpleSigner
        return cls(signing_cert=party.a_cert, signing_key=party.a_key, cert_registry=store,
                   embed_roots=False)

    def pades(self, pdf, party, *, timestamp=False, lt=False, lta=False, content_ts=False,
              wrong_digest=False):
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers
        from pyhanko.sign.ades.api import CAdESSignedAttrSpec

        meta = signers.PdfSignatureMetadata(
            field_name='Signature1',
            md_algorithm='sha256',
            subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=lt or lta,
            validation_context=self.vc() if (lt or lta) else None,
            cades_signed_attr_spec=CAdESSignedAttrSpec(timestamp_content=True)
            if content_ts else None,
        )
        pdf_signer = FixedTimePdfSigner(
            self.pki.sign_time,
            meta,
            signer=self.signer(party, wrong_digest),
            timestamper=self.timestamper if (timestamp or lt or lta or content_ts) else None,
        )
        out = pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf))).getvalue()
        if lta:
            # B-LTA: a document time-stamp (now) over the signature and its DSS, with the TSA's
            # validation data added first, as use_pades_lta=True does at signing time.
            out = signers.PdfTimeStamper(self.doc_timestamper).timestamp_pdf(
                IncrementalPdfFileWriter(io.BytesIO(out)), 'sha256',
                validation_context=self.vc(),
            ).getvalue()
        return out

    def add_dss(self, signed_pdf, certs, crls):
        """Adds a DSS (certificates and CRLs) in an incremental update after the signature."""
        from pyhanko.sign.validation.dss import DocumentSecurityStore

        buf = io.BytesIO(signed_pdf)
        # No VRI entry (sig_contents=None): the DSS serves every signature of the file.
        DocumentSecurityStore.add_dss(
            buf,
            None,
            certs=certs,
            crls=[a_crl.CertificateList.load(c) for c in crls],
        )
        return buf.getvalue()

    def cades_detached(self, content, party, *, timestamp=False, content_ts=False):
        from pyhanko.sign.ades.api import CAdESSignedAttrSpec
        from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

        signer = self.signer(party)
        attrs = PdfCMSSignedAttributes(
            signing_time=self.pki.sign_time,
            cades_signed_attrs=CAdESSignedAttrSpec(timestamp_content=True)
            if content_ts else None,
        )
        ci = asyncio.run(
            signer.async_sign_general_data(
                content, 'sha256', detached=True, use_cades=True,
                timestamper=self.timestamper if (timestamp or content_ts) else None,
                signed_attr_settings=attrs,
            )
        )
        return ci.dump()


try:
    from pyhanko.sign.signers import PdfSigner as _PdfSigner
    from pyhanko.sign.signers import SimpleSigner as _SimpleSigner

    class FixedTimePdfSigner(_PdfSigner):
        """A PdfSigner whose claimed signing-time is the corpus signing time, not now."""

        def __init__(self, system_time, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fixed_system_time = system_time

        def init_signing_session(self, *args, **kwargs):
            session = super().init_signing_session(*args, **kwargs)
            session.system_time = self.fixed_system_time
            return session

    class WrongDigestSigner(_SimpleSigner):
        """Signs a message-digest attribute that is not the document's digest (last bit
        flipped): the CMS signature value is correct, the digest it vouches for is wrong."""

        async def async_sign(self, data_digest, digest_algorithm, *args, **kwargs):
            bad = data_digest[:-1] + bytes([data_digest[-1] ^ 0x01])
            return await super().async_sign(bad, digest_algorithm, *args, **kwargs)
except ImportError:  # the venv is checked in main()
    pass


def pdf_cms_location(pdf: bytes):
    """(start, end) of the hex digits of the first signature's /Contents, and the CMS bytes."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf))
    sig = reader.embedded_regular_signatures[0]
    byte_range = sig.sig_object['/ByteRange']
    start = byte_range[0] + byte_range[1] + 1  # after '<'
    end = byte_range[2] - 1  # before '>'
    return start, end, sig.signed_data


def pdf_flip_signature_value(pdf: bytes) -> bytes:
    start, end, signed_data = pdf_cms_location(pdf)
    sig = signed_data['signer_infos'][0]['signature'].native
    hex_region = pdf[start:end].lower()
    index = hex_region.find(sig.hex().encode('ascii'))
    if index < 0:
        raise RuntimeError('signature value not found in /Contents')
    # The last byte's low hex digit: xor 1 flips one bit of the signature value.
    pos = start + index + 2 * len(sig) - 1
    digit = int(pdf[pos:pos + 1], 16) ^ 0x01
    return pdf[:pos] + format(digit, 'x').encode('ascii') + pdf[pos + 1:]


def pdf_replace_cms(pdf: bytes, new_der: bytes) -> bytes:
    """Writes `new_der` into the first signature's /Contents, zero-padded to the same size."""
    start, end, _ = pdf_cms_location(pdf)
    hex_der = new_der.hex().encode('ascii')
    if len(hex_der) > end - start:
        raise RuntimeError('new CMS does not fit')
    return pdf[:start] + hex_der + b'0' * (end - start - len(hex_der)) + pdf[end:]


def pdf_strip_signature_timestamp(pdf: bytes) -> bytes:
    _, _, signed_data = pdf_cms_location(pdf)
    der = a_cms.ContentInfo({'content_type': 'signed_data', 'content': signed_data}).dump()
    return pdf_replace_cms(pdf, without_unsigned_attrs(der))


# ---------------------------------------------------------------------------------------------
# openssl, xmlsec1, signxml, jwcrypto
# ---------------------------------------------------------------------------------------------


def run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f'{cmd[0]} failed: {result.stderr.decode(errors="replace")}')
    return result.stdout


class Files:
    """Key and certificate files for the command-line producers, in a private temp dir."""

    def __init__(self, tmp):
        self.tmp = tmp

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def party(self, party, chain):
        key = self.write(party.name.replace(' ', '_') + '.key', party.key_pem)
        cert = self.write(party.name.replace(' ', '_') + '.crt', party.cert_pem)
        certfile = self.write(party.name.replace(' ', '_') + '.chain',
                              b''.join(c.cert_pem for c in chain))
        return key, cert, certfile


def openssl_cms(files, party, chain, content, detached):
    key, cert, certfile = files.party(party, chain)
    data = files.write('content.bin', content)
    cmd = ['openssl', 'cms', '-sign', '-binary', '-outform', 'DER', '-md', 'sha256', '-cades',
           '-in', data, '-signer', cert, '-inkey', key, '-certfile', certfile]
    if not detached:
        cmd.append('-nodetach')
    return run(cmd)


XMLDSIG_TEMPLATE = b'''<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:signet:validation-corpus">
  <Title>''' + MARKER + b''': an XML document</Title>
  <Body>Second element of the content.</Body>
  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#">
    <SignedInfo>
      <CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>
      <Reference URI="">
        <Transforms>
          <Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
          <Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
        </Transforms>
        <DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <DigestValue/>
      </Reference>
    </SignedInfo>
    <SignatureValue/>
    <KeyInfo>
      <X509Data/>
    </KeyInfo>
  </Signature>
</Document>
'''


def xmlsec1_sign(files, party, chain):
    key, cert, _ = files.party(party, chain)
    extra = [files.write(c.name.replace(' ', '_') + '.pem', c.cert_pem) for c in chain]
    template = files.write('template.xml', XMLDSIG_TEMPLATE)
    out = os.path.join(files.tmp, 'xmlsec1-out.xml')
    run(['xmlsec1', '--sign', '--privkey-pem', ','.join([key, cert] + extra), '--output', out,
         template])
    with open(out, 'rb') as f:
        return f.read()


def signxml_xades(party, chain):
    from lxml import etree
    from signxml import DigestAlgorithm, SignatureMethod
    from signxml.xades import XAdESSigner

    doc = etree.fromstring(
        b'<Document xmlns="urn:signet:validation-corpus"><Title>' + MARKER
        + b': an XML document</Title><Body>Second element of the content.</Body></Document>'
    )
    signer = XAdESSigner(
        signature_algorithm=SignatureMethod.ECDSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
    )
    signed = signer.sign(doc, key=party.key_pem,
                         cert=[party.cert_pem.decode()] + [c.cert_pem.decode() for c in chain])
    return etree.tostring(signed, xml_declaration=True, encoding='UTF-8')


def xml_flip_signature_value(xml: bytes) -> bytes:
    found = re.findall(rb'<(?:[A-Za-z0-9_]+:)?SignatureValue[ >]', xml)
    if len(found) != 1:
        raise RuntimeError('expected one SignatureValue')
    open_end = xml.index(b'>', xml.index(found[0])) + 1
    close = xml.index(b'</', open_end)
    raw = base64.b64decode(b''.join(xml[open_end:close].split()))
    flipped = base64.b64encode(flip_at(raw, len(raw) - 1))
    return xml[:open_end] + flipped + xml[close:]


def xades_change_signing_time(xml: bytes) -> bytes:
    """Alters xades:SigningTime (inside the signed SignedProperties): one second later."""
    m = re.search(rb'(<(?:[A-Za-z0-9_]+:)?SigningTime>)([^<]+)(<)', xml)
    if m is None:
        raise RuntimeError('no SigningTime')
    when = datetime.fromisoformat(m.group(2).decode().replace('Z', '+00:00'))
    later = (when + timedelta(seconds=1)).isoformat().encode()
    return xml[:m.start(2)] + later + xml[m.end(2):]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def jws_x5c(party, chain):
    from jwcrypto import jwk, jws

    key = jwk.JWK.from_pem(party.key_pem)
    payload = MARKER + b': a JSON payload'
    token = jws.JWS(json.dumps({'document': payload.decode()}).encode())
    header = {
        'alg': 'ES256',
        'x5c': [base64.b64encode(c.cert_der).decode() for c in [party] + chain],
    }
    token.add_signature(key, protected=json.dumps(header, separators=(',', ':')))
    return token.serialize(compact=True).encode()


def jws_flip_payload(token: bytes) -> bytes:
    header, payload, sig = token.decode().split('.')
    return '.'.join([header, b64url(flip_marker(b64url_decode(payload))), sig]).encode()


def jws_flip_signature(token: bytes) -> bytes:
    header, payload, sig = token.decode().split('.')
    raw = b64url_decode(sig)
    return '.'.join([header, payload, b64url(flip_at(raw, len(raw) - 1))]).encode()


# ---------------------------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------------------------

PASSED = 'TOTAL-PASSED'
FAILED = 'TOTAL-FAILED'
INDET = 'INDETERMINATE'


def verdict(indication, sub_indication=None, level=None):
    out = {'indication': indication}
    if sub_indication:
        out['sub_indication'] = sub_indication
    if level:
        out['level'] = level
    return out


class Corpus:
    def __init__(self, outdir):
        self.outdir = outdir
        self.entries = []

    def add(self, file, data, fmt, producer, expect, expect_rev, note, detached=None,
            claimed_level=None, pyhanko=None):
        with open(os.path.join(self.outdir, file), 'wb') as f:
            f.write(data)
        entry = {'file': file, 'format': fmt, 'producer': producer}
        if detached:
            entry['detached_content'] = detached
        if claimed_level:
            entry['claimed_level'] = claimed_level
        entry['expect'] = expect
        entry['expect_with_revocation_data'] = expect_rev
        if pyhanko is None and fmt in ('PAdES', 'CAdES') and \
                expect.get('sub_indication') == 'TRY_LATER':
            pyhanko = pyhanko_no_revinfo(expect.get('level'))
        if pyhanko:
            entry['pyhanko'] = pyhanko
        entry['note'] = note
        self.entries.append(entry)

    def write_plain(self, file, data):
        with open(os.path.join(self.outdir, file), 'wb') as f:
            f.write(data)


# Notes shared by many entries, so each entry says what is special about it.
NO_REVINFO = ('Without revocation data (none embedded, nothing fetched) EN 319 102-1 §5.2.6 '
              'X.509 validation cannot establish the status of the signer certificate: '
              'INDETERMINATE/TRY_LATER.')
def pyhanko_no_revinfo(level):
    """pyHanko's verdict, offline, on a signature whose revocation status it cannot get."""
    return {
        'expect': verdict(INDET, 'CERTIFICATE_CHAIN_GENERAL_FAILURE', level),
        'why': 'pyHanko maps missing revocation data (InsufficientRevinfoError) to '
               'CERTIFICATE_CHAIN_GENERAL_FAILURE; only stale data becomes TRY_LATER. Same '
               'indication.',
    }


CRYPTO_FIRST = ('A TOTAL-FAILED from cryptographic verification (§5.2.7) is reported even when '
                'the certificate status is unknown (pyHanko and DSS both check integrity first).')


def build(outdir, crl_url_base, bench_pdf=None):
    os.makedirs(outdir, exist_ok=True)
    os.makedirs(os.path.join(outdir, 'revocation'), exist_ok=True)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    pki = Pki(now, crl_url_base)
    corpus = Corpus(outdir)

    for fname, party in (('root.pem', pki.root), ('untrusted-root.pem', pki.untrusted_root),
                         ('intermediate.pem', pki.intermediate), ('tsa.pem', pki.tsa)):
        corpus.write_plain(fname, party.cert_pem)
    for fname, der in pki.crls.items():
        corpus.write_plain(os.path.join('revocation', fname), der)
    corpus.write_plain('content.txt', CONTENT)
    corpus.write_plain('content-flipped.txt', flip_marker(CONTENT))

    ph = Pyhanko(pki)
    pdf = base_pdf()
    corpus.write_plain('unsigned.pdf', pdf)
    if bench_pdf:
        with open(bench_pdf, 'rb') as f:
            corpus.write_plain('bench-lta.pdf', ph.pades(f.read(), pki.signer_ec, lta=True))
    pades_corpus(corpus, pki, ph, pdf)
    cades_corpus(corpus, pki, ph)
    tmp = tempfile.mkdtemp(prefix='signet-corpus-')
    try:
        files = Files(tmp)
        openssl_corpus(corpus, pki, files)
        xml_corpus(corpus, pki, files)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    jws_corpus(corpus, pki)

    manifest = {
        'generated_at': now.isoformat(),
        'trust_anchor': 'root.pem',
        'untrusted_root': 'untrusted-root.pem',
        'revocation_data': [f'revocation/{n}' for n in ('root.crl', 'intermediate.crl')],
        'revocation_data_untrusted': ['revocation/untrusted-root.crl'],
        'crl_url_base': crl_url_base,
        'valid_until': (now + timedelta(days=7)).isoformat(),
        'revocation_time_of_revoked_signer': pki.revocation_time.isoformat(),
        'expectations': (
            'EN 319 102-1 indications. `expect`: validator given FILE (+ detached content) and '
            'root.pem only, no fetching. `expect_with_revocation_data`: the CRLs of '
            '`revocation_data` are known to the validator as well. `level`: the baseline level '
            'whose elements are present (cumulative). `pyhanko` (PAdES/CAdES): what '
            'validation_judge.py answers where pyHanko differs from EN 319 102-1, and why.'
        ),
        'entries': corpus.entries,
    }
    with open(os.path.join(outdir, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    return manifest


def pades_corpus(c, pki, ph, pdf):
    P = 'PAdES'
    bb = ph.pades(pdf, pki.signer_ec)
    c.add('pades-pyhanko-b-b-ec.pdf', bb, P, 'pyhanko', verdict(INDET, 'TRY_LATER', 'B-B'),
          verdict(PASSED, None, 'B-B'),
          'pyHanko PAdES B-B (ETSI.CAdES.detached), EC P-256 signer. ' + NO_REVINFO)
    c.add('pades-pyhanko-b-b-rsa.pdf', ph.pades(pdf, pki.signer_rsa), P, 'pyhanko',
          verdict(INDET, 'TRY_LATER', 'B-B'), verdict(PASSED, None, 'B-B'),
          'pyHanko PAdES B-B, RSA-2048 PKCS#1 v1.5 signer. ' + NO_REVINFO)
    bt = ph.pades(pdf, pki.signer_ec, timestamp=True)
    c.add('pades-pyhanko-b-t.pdf', bt, P, 'pyhanko', verdict(INDET, 'TRY_LATER', 'B-T'),
          verdict(PASSED, None, 'B-T'),
          'pyHanko PAdES B-T: signature time-stamp from the corpus TSA (DummyTimeStamper). '
          + NO_REVINFO + ' (The time-stamp is no help: revocation status is still unknown.)')
    c.add('pades-pyhanko-b-lt.pdf', ph.pades(pdf, pki.signer_ec, lt=True), P, 'pyhanko',
          verdict(PASSED, None, 'B-LT'), verdict(PASSED, None, 'B-LT'),
          'pyHanko PAdES B-LT: DSS with the chain and both CRLs (signer and TSA), '
          'embed_validation_info=True. Passes offline: the validation data is in the file.')
    c.add('pades-pyhanko-b-lta.pdf', ph.pades(pdf, pki.signer_ec, lta=True), P, 'pyhanko',
          verdict(PASSED, None, 'B-LTA'), verdict(PASSED, None, 'B-LTA'),
          'pyHanko PAdES B-LTA: the B-LT signing above, then PdfTimeStamper adds the TSA\'s '
          'validation data to the DSS and a document time-stamp (at the real time, after the '
          'CRLs). Passes offline.')

    # Broken variants.
    c.add('pades-pyhanko-b-b-content-flipped.pdf', flip_marker(bb), P, 'pyhanko',
          verdict(FAILED, 'HASH_FAILURE', 'B-B'), verdict(FAILED, 'HASH_FAILURE', 'B-B'),
          'B-B with one bit flipped in the page content stream (inside the ByteRange): the '
          'document digest differs from message-digest (§5.2.7). ' + CRYPTO_FIRST)
    c.add('pades-pyhanko-b-lt-content-flipped.pdf',
          flip_marker(ph.pades(pdf, pki.signer_ec, lt=True)), P, 'pyhanko',
          verdict(FAILED, 'HASH_FAILURE', 'B-LT'), verdict(FAILED, 'HASH_FAILURE', 'B-LT'),
          'B-LT with one bit flipped in the signed page content: HASH_FAILURE.')
    c.add('pades-pyhanko-b-b-sig-flipped.pdf', pdf_flip_signature_value(bb), P, 'pyhanko',
          verdict(FAILED, 'SIG_CRYPTO_FAILURE', 'B-B'),
          verdict(FAILED, 'SIG_CRYPTO_FAILURE', 'B-B'),
          'B-B with one bit flipped in the SignerInfo signature value (hex in /Contents): the '
          'signature value does not verify under the signer key (§5.2.7). ' + CRYPTO_FIRST)
    c.add('pades-pyhanko-b-b-wrong-message-digest.pdf',
          ph.pades(pdf, pki.signer_ec, wrong_digest=True), P, 'pyhanko',
          verdict(FAILED, 'HASH_FAILURE', 'B-B'), verdict(FAILED, 'HASH_FAILURE', 'B-B'),
          'pyHanko signer fed a document digest with its last bit flipped: the signed '
          'attributes are correctly signed, but their message-digest is not the digest of the '
          'ByteRange (§5.2.7 HASH_FAILURE). ' + CRYPTO_FIRST)
    c.add('pades-pyhanko-b-b-untrusted.pdf', ph.pades(pdf, pki.signer_untrusted), P, 'pyhanko',
          verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND', 'B-B'),
          verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND', 'B-B'),
          'Signer certified by untrusted-root.pem (certificate included): no path to a trust '
          'anchor (§5.2.6).')
    c.add('pades-pyhanko-b-t-untrusted.pdf',
          ph.pades(pdf, pki.signer_untrusted, timestamp=True), P, 'pyhanko',
          verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND', 'B-T'),
          verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND', 'B-T'),
          'B-T whose signer is certified by the untrusted root (the TSA is trusted): '
          'NO_CERTIFICATE_CHAIN_FOUND.')
    # Revoked one hour before signing; a content time-stamp (signed attribute) proves the
    # signature was made after the revocation.
    revoked_ct = ph.pades(pdf, pki.signer_revoked, content_ts=True)
    c.add('pades-pyhanko-revoked-content-ts.pdf',
          ph.add_dss(revoked_ct, [pki.intermediate.a_cert], pki.trusted_crls()), P, 'pyhanko',
          verdict(FAILED, 'REVOKED', 'B-LT'), verdict(FAILED, 'REVOKED', 'B-LT'),
          'Signer revoked (keyCompromise) 1 h before signing; the CRL saying so is embedded in '
          'a DSS added after the signature. The signature carries a content-time-stamp '
          '(signed attribute) later than the revocation: proof the signature was made after '
          'it, so basic validation (§5.3.4, content time-stamp clause) gives '
          'TOTAL-FAILED/REVOKED. It also has a signature time-stamp (same TSA).')
    revoked_st = ph.pades(pdf, pki.signer_revoked, timestamp=True)
    c.add('pades-pyhanko-revoked-sig-ts.pdf',
          ph.add_dss(revoked_st, [pki.intermediate.a_cert], pki.trusted_crls()), P, 'pyhanko',
          verdict(INDET, 'REVOKED_NO_POE', 'B-LT'), verdict(INDET, 'REVOKED_NO_POE', 'B-LT'),
          'Signer revoked 1 h before signing, CRL embedded in a DSS, only a signature '
          'time-stamp (after the revocation). EN 319 102-1 §5.5.4: the revocation time is not '
          'after best-signature-time, so INDETERMINATE/REVOKED_NO_POE (TOTAL-FAILED/REVOKED '
          'needs a proof that the signature was made after the revocation: a content '
          'time-stamp, see pades-pyhanko-revoked-content-ts.pdf).',
          pyhanko={
              'expect': verdict(INDET, 'CERTIFICATE_CHAIN_GENERAL_FAILURE', 'B-LT'),
              'expect_with_revocation_data': verdict(INDET, 'CERTIFICATE_CHAIN_GENERAL_FAILURE',
                                                     'B-LT'),
              'why': 'pyHanko\'s ades_lta_validation finds REVOKED_NO_POE at the current time, '
                     'then its past validation (§5.6.2.4) fails on the revoked certificate and '
                     'reports that failure instead of keeping REVOKED_NO_POE. Same indication.',
          })
    expired = ph.pades(pdf, pki.signer_expired, timestamp=True)
    c.add('pades-pyhanko-expired-before-ts.pdf',
          ph.add_dss(expired, [pki.intermediate.a_cert], pki.trusted_crls()), P, 'pyhanko',
          verdict(INDET, 'OUT_OF_BOUNDS_NO_POE', 'B-LT'),
          verdict(INDET, 'OUT_OF_BOUNDS_NO_POE', 'B-LT'),
          'Signer certificate expired 2 days before signing (pyHanko signs without checking '
          'validity); the signature time-stamp is after notAfter, CRLs in a DSS. EN 319 102-1 '
          '§5.5.4: best-signature-time after the expiration: INDETERMINATE/'
          'OUT_OF_BOUNDS_NO_POE (a CRL issued after expiry that omits the certificate proves '
          'nothing without ExpiredCertsOnCRL).')
    c.add('pades-pyhanko-claimed-b-t-no-timestamp.pdf', pdf_strip_signature_timestamp(bt), P,
          'pyhanko', verdict(INDET, 'TRY_LATER', 'B-B'), verdict(PASSED, None, 'B-B'),
          'pyHanko B-T whose signature time-stamp (unsigned attribute) was removed from the CMS '
          'in /Contents (zero padded, ByteRange unchanged, nothing signed altered): claimed '
          'B-T, but the level achieved is B-B. ' + NO_REVINFO, claimed_level='B-T')


def cades_corpus(c, pki, ph):
    C = 'CAdES'
    det = 'content.txt'
    bt = ph.cades_detached(CONTENT, pki.signer_ec, timestamp=True)
    c.add('cades-pyhanko-b-t-detached.p7s', bt, C, 'pyhanko',
          verdict(INDET, 'TRY_LATER', 'B-T'), verdict(PASSED, None, 'B-T'),
          'pyHanko CAdES B-T, detached (sign_general_data, use_cades=True): '
          'signing-certificate-v2 and a signature time-stamp. ' + NO_REVINFO, detached=det)
    c.add('cades-pyhanko-b-lt-detached.p7s', with_crls(bt, pki.trusted_crls()), C, 'pyhanko',
          verdict(PASSED, None, 'B-LT'), verdict(PASSED, None, 'B-LT'),
          'The pyHanko CAdES B-T above with both CRLs added to SignedData.crls by the corpus '
          '(asn1crypto; unsigned, nothing signed changes): EN 319 122-1 B-LT. Passes offline.',
          detached=det)
    c.add('cades-pyhanko-b-t-content-flipped.p7s', bt, C, 'pyhanko',
          verdict(FAILED, 'HASH_FAILURE', 'B-T'), verdict(FAILED, 'HASH_FAILURE', 'B-T'),
          'The pyHanko CAdES B-T validated against content-flipped.txt (one bit flipped): '
          'message-digest mismatch. ' + CRYPTO_FIRST, detached='content-flipped.txt')
    c.add('cades-pyhanko-claimed-b-t-no-timestamp.p7s', without_unsigned_attrs(bt), C,
          'pyhanko', verdict(INDET, 'TRY_LATER', 'B-B'), verdict(PASSED, None, 'B-B'),
          'The pyHanko CAdES B-T with its unsigned attributes (the signature time-stamp) '
          'removed: claimed B-T, achieved B-B. ' + NO_REVINFO, detached=det,
          claimed_level='B-T')
    c.add('cades-pyhanko-b-t-untrusted.p7s',
          ph.cades_detached(CONTENT, pki.signer_untrusted, timestamp=True), C, 'pyhanko',
          verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND', 'B-T'),
          verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND', 'B-T'),
          'pyHanko CAdES B-T by the signer of the untrusted root.', detached=det)
    expired = with_crls(ph.cades_detached(CONTENT, pki.signer_expired, timestamp=True),
                        pki.trusted_crls())
    c.add('cades-pyhanko-expired-before-ts.p7s', expired, C, 'pyhanko',
          verdict(INDET, 'OUT_OF_BOUNDS_NO_POE', 'B-LT'),
          verdict(INDET, 'OUT_OF_BOUNDS_NO_POE', 'B-LT'),
          'pyHanko CAdES by the signer whose certificate expired 2 days before signing; the '
          'signature time-stamp is after notAfter; CRLs in SignedData.crls. EN 319 102-1 '
          '§5.5.4: best-signature-time after the expiration: INDETERMINATE/'
          'OUT_OF_BOUNDS_NO_POE.', detached=det,
          pyhanko={
              'expect': verdict(PASSED, None, 'B-LT'),
              'expect_with_revocation_data': verdict(PASSED, None, 'B-LT'),
              'why': 'pyHanko\'s ades_with_time_validation (the only time-aware process it has '
                     'for CMS) lets OUT_OF_BOUNDS_NO_POE through when the time-stamp is after '
                     'notBefore and never compares it with notAfter (its comment: expiry is '
                     'left to past validation, which only its PAdES LTA process runs). pyHanko '
                     'differs from EN 319 102-1 here: TOTAL-PASSED instead of INDETERMINATE.',
          })
    revoked = with_crls(ph.cades_detached(CONTENT, pki.signer_revoked, timestamp=True,
                                          content_ts=True), pki.trusted_crls())
    c.add('cades-pyhanko-revoked-content-ts.p7s', revoked, C, 'pyhanko',
          verdict(FAILED, 'REVOKED', 'B-LT'), verdict(FAILED, 'REVOKED', 'B-LT'),
          'pyHanko CAdES by the signer revoked 1 h before signing, with a content-time-stamp '
          '(signed) later than the revocation, a signature time-stamp, and the CRLs in '
          'SignedData.crls: TOTAL-FAILED/REVOKED (§5.3.4).', detached=det)


def openssl_corpus(c, pki, files):
    C = 'CAdES'
    chain = [pki.intermediate]
    attached = openssl_cms(files, pki.signer_ec, chain, CONTENT, detached=False)
    detached = openssl_cms(files, pki.signer_ec, chain, CONTENT, detached=True)
    rsa_attached = openssl_cms(files, pki.signer_rsa, chain, CONTENT, detached=False)
    c.add('cades-openssl-b-b-attached.p7m', attached, C, 'openssl',
          verdict(INDET, 'TRY_LATER', 'B-B'), verdict(PASSED, None, 'B-B'),
          'openssl cms -sign -binary -nodetach -outform DER -md sha256 -cades (adds '
          'signing-certificate-v2), EC signer, intermediate via -certfile. ' + NO_REVINFO)
    c.add('cades-openssl-b-b-attached-rsa.p7m', rsa_attached, C, 'openssl',
          verdict(INDET, 'TRY_LATER', 'B-B'), verdict(PASSED, None, 'B-B'),
          'openssl cms -cades, attached, RSA-2048 signer. ' + NO_REVINFO)
    c.add('cades-openssl-b-b-detached.p7s', detached, C, 'openssl',
          verdict(INDET, 'TRY_LATER', 'B-B'), verdict(PASSED, None, 'B-B'),
          'openssl cms -cades, detached; content.txt is the signed data. ' + NO_REVINFO,
          detached='content.txt')
    c.add('cades-openssl-b-b-detached-no-content.p7s', detached, C, 'openssl',
          verdict(INDET, 'SIGNED_DATA_NOT_FOUND', 'B-B'),
          verdict(INDET, 'SIGNED_DATA_NOT_FOUND', 'B-B'),
          'The detached openssl signature validated WITHOUT its content: §5.2.2/§5.3 cannot '
          'obtain the signed data object: INDETERMINATE/SIGNED_DATA_NOT_FOUND.')
    c.add('cades-openssl-b-b-attached-content-flipped.p7m', flip_marker(attached), C,
          'openssl', verdict(FAILED, 'HASH_FAILURE', 'B-B'),
          verdict(FAILED, 'HASH_FAILURE', 'B-B'),
          'Attached openssl CMS with one bit flipped in the encapsulated content: '
          'message-digest mismatch. ' + CRYPTO_FIRST)
    c.add('cades-openssl-b-b-detached-content-flipped.p7s', detached, C, 'openssl',
          verdict(FAILED, 'HASH_FAILURE', 'B-B'), verdict(FAILED, 'HASH_FAILURE', 'B-B'),
          'Detached openssl CMS validated against content-flipped.txt: message-digest '
          'mismatch. ' + CRYPTO_FIRST, detached='content-flipped.txt')
    c.add('cades-openssl-b-b-sig-flipped.p7m', flip_cms_signature_value(attached), C,
          'openssl', verdict(FAILED, 'SIG_CRYPTO_FAILURE', 'B-B'),
          verdict(FAILED, 'SIG_CRYPTO_FAILURE', 'B-B'),
          'Attached openssl CMS with one bit flipped in the signature value. ' + CRYPTO_FIRST)
    c.add('cades-openssl-b-b-wrong-message-digest.p7m',
          wrong_message_digest(attached, pki.signer_ec), C, 'openssl',
          verdict(FAILED, 'HASH_FAILURE', 'B-B'), verdict(FAILED, 'HASH_FAILURE', 'B-B'),
          'Attached openssl CMS whose message-digest attribute was altered (last bit) and '
          'whose signed attributes were then signed again with the signer key by the corpus: '
          'the signature value verifies, the digest does not match the content (HASH_FAILURE). '
          + CRYPTO_FIRST)
    c.add('cades-openssl-b-b-untrusted.p7m',
          openssl_cms(files, pki.signer_untrusted, [pki.untrusted_root], CONTENT, False), C,
          'openssl', verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND', 'B-B'),
          verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND', 'B-B'),
          'openssl CMS by the signer of untrusted-root.pem (root included via -certfile, not '
          'trusted): NO_CERTIFICATE_CHAIN_FOUND.')
    revoked = openssl_cms(files, pki.signer_revoked, chain, CONTENT, detached=False)
    c.add('cades-openssl-revoked.p7m', with_crls(revoked, pki.trusted_crls()), C, 'openssl',
          verdict(INDET, 'REVOKED_NO_POE', 'B-B'), verdict(INDET, 'REVOKED_NO_POE', 'B-B'),
          'openssl CMS by the signer revoked 1 h before signing, CRLs embedded in '
          'SignedData.crls by the corpus. No time-stamp: the claimed signing-time is no proof '
          'of existence, so EN 319 102-1 gives INDETERMINATE/REVOKED_NO_POE (TOTAL-FAILED/'
          'REVOKED needs a POE after the revocation). Level B-B: revocation data without a '
          'signature time-stamp is not B-LT.')


def xml_corpus(c, pki, files):
    X = 'XAdES'
    chain = [pki.intermediate]
    plain = xmlsec1_sign(files, pki.signer_ec, chain)
    plain_note = (
        'Plain XMLDSig, not XAdES: no SignedProperties, so no SigningCertificate(V2) and no '
        'SigningTime. The XAdES B-B constraints (EN 319 132-1 §6.3) fail in signature '
        'acceptance validation (§5.2.8): INDETERMINATE/SIG_CONSTRAINTS_FAILURE. (DSS\'s default '
        'policy reports the missing signing-certificate reference earlier, in §5.2.3, as '
        'NO_SIGNING_CERTIFICATE_FOUND; both are INDETERMINATE.) No level. ')
    offline_constraint = (
        'Offline, X.509 validation (§5.2.6, before §5.2.8) already stops at '
        'INDETERMINATE/TRY_LATER.')
    c.add('xmldsig-xmlsec1-enveloped.xml', plain, X, 'xmlsec1',
          verdict(INDET, 'TRY_LATER'), verdict(INDET, 'SIG_CONSTRAINTS_FAILURE'),
          'xmlsec1 --sign, enveloped signature (ecdsa-sha256, exc-c14n), X509Data with the '
          'signer and intermediate. ' + plain_note + offline_constraint)
    c.add('xmldsig-xmlsec1-content-flipped.xml', flip_marker(plain), X, 'xmlsec1',
          verdict(FAILED, 'HASH_FAILURE'), verdict(FAILED, 'HASH_FAILURE'),
          'xmlsec1 XMLDSig with one bit flipped in the signed Title text: the Reference '
          'digest does not match (§5.2.7). ' + CRYPTO_FIRST)
    c.add('xmldsig-xmlsec1-sig-flipped.xml', xml_flip_signature_value(plain), X, 'xmlsec1',
          verdict(FAILED, 'SIG_CRYPTO_FAILURE'), verdict(FAILED, 'SIG_CRYPTO_FAILURE'),
          'xmlsec1 XMLDSig with one bit flipped in SignatureValue. ' + CRYPTO_FIRST)
    c.add('xmldsig-xmlsec1-untrusted.xml',
          xmlsec1_sign(files, pki.signer_untrusted, [pki.untrusted_root]), X, 'xmlsec1',
          verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND'),
          verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND'),
          'xmlsec1 XMLDSig by the untrusted signer: X.509 validation (§5.2.6) finds no chain '
          'before signature acceptance (§5.2.8) is reached.')

    xades = signxml_xades(pki.signer_ec, chain)
    c.add('xades-signxml-b-b.xml', xades, X, 'signxml', verdict(INDET, 'TRY_LATER', 'B-B'),
          verdict(PASSED, None, 'B-B'),
          'signxml XAdESSigner, enveloped, ecdsa-sha256: SignedProperties with SigningTime and '
          'SigningCertificateV2 (XAdES B-B). ' + NO_REVINFO)
    c.add('xades-signxml-content-flipped.xml', flip_marker(xades), X, 'signxml',
          verdict(FAILED, 'HASH_FAILURE', 'B-B'), verdict(FAILED, 'HASH_FAILURE', 'B-B'),
          'signxml XAdES with one bit flipped in the signed Title text. ' + CRYPTO_FIRST)
    c.add('xades-signxml-sig-flipped.xml', xml_flip_signature_value(xades), X, 'signxml',
          verdict(FAILED, 'SIG_CRYPTO_FAILURE', 'B-B'),
          verdict(FAILED, 'SIG_CRYPTO_FAILURE', 'B-B'),
          'signxml XAdES with one bit flipped in SignatureValue. ' + CRYPTO_FIRST)
    c.add('xades-signxml-wrong-signed-properties-digest.xml', xades_change_signing_time(xades),
          X, 'signxml', verdict(FAILED, 'HASH_FAILURE', 'B-B'),
          verdict(FAILED, 'HASH_FAILURE', 'B-B'),
          'signxml XAdES whose SigningTime was moved by one second after signing: the '
          'Reference to SignedProperties no longer matches its digest (the XAdES form of a '
          'wrong signed-attributes digest). ' + CRYPTO_FIRST)
    c.add('xades-signxml-untrusted.xml', signxml_xades(pki.signer_untrusted,
                                                        [pki.untrusted_root]), X, 'signxml',
          verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND', 'B-B'),
          verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND', 'B-B'),
          'signxml XAdES by the signer of the untrusted root.')
    c.add('xades-signxml-revoked.xml', signxml_xades(pki.signer_revoked, chain), X, 'signxml',
          verdict(INDET, 'TRY_LATER', 'B-B'), verdict(INDET, 'REVOKED_NO_POE', 'B-B'),
          'signxml XAdES B-B by the signer revoked 1 h before signing. Nothing embedded: '
          'offline TRY_LATER; with the CRLs, REVOKED_NO_POE (SigningTime is a claim, not a '
          'proof of existence).')


def jws_corpus(c, pki):
    J = 'JAdES'
    chain = [pki.intermediate]
    token = jws_x5c(pki.signer_ec, chain)
    note = (
        'Plain JWS (RFC 7515), not JAdES: no sigT and no x5t#S256/sigX5ts in the protected '
        'header, so the JAdES B-B constraints (TS 119 182-1 §6.3) fail in signature '
        'acceptance validation (§5.2.8): INDETERMINATE/SIG_CONSTRAINTS_FAILURE. No level. ')
    c.add('jws-jwcrypto-x5c.jws', token, J, 'jwcrypto', verdict(INDET, 'TRY_LATER'),
          verdict(INDET, 'SIG_CONSTRAINTS_FAILURE'),
          'jwcrypto compact JWS, ES256, x5c = signer + intermediate. ' + note
          + 'Offline, X.509 validation (§5.2.6) already stops at INDETERMINATE/TRY_LATER.')
    c.add('jws-jwcrypto-payload-flipped.jws', jws_flip_payload(token), J, 'jwcrypto',
          verdict(FAILED, 'SIG_CRYPTO_FAILURE'), verdict(FAILED, 'SIG_CRYPTO_FAILURE'),
          'jwcrypto JWS with one bit flipped in the (attached) payload. A JWS signs the '
          'payload itself, with no separate digest to compare, so the failure is '
          'SIG_CRYPTO_FAILURE, not HASH_FAILURE. ' + CRYPTO_FIRST)
    c.add('jws-jwcrypto-sig-flipped.jws', jws_flip_signature(token), J, 'jwcrypto',
          verdict(FAILED, 'SIG_CRYPTO_FAILURE'), verdict(FAILED, 'SIG_CRYPTO_FAILURE'),
          'jwcrypto JWS with one bit flipped in the signature. ' + CRYPTO_FIRST)
    c.add('jws-jwcrypto-untrusted.jws', jws_x5c(pki.signer_untrusted, [pki.untrusted_root]),
          J, 'jwcrypto', verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND'),
          verdict(INDET, 'NO_CERTIFICATE_CHAIN_FOUND'),
          'jwcrypto JWS whose x5c chains to the untrusted root.')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('outdir')
    parser.add_argument('--crl-url-base', default='http://127.0.0.1:9/',
                        help='URL the CRL distribution points of the certificates name')
    parser.add_argument('--bench-pdf', metavar='PDF',
                        help='also sign PDF as PAdES B-LTA into OUTDIR/bench-lta.pdf')
    args = parser.parse_args()
    # pyHanko warns that fetching is off while embedding validation data: that is the point.
    logging.basicConfig(level=logging.ERROR)
    for tool in ('openssl', 'xmlsec1'):
        if shutil.which(tool) is None:
            sys.exit(f'validation_corpus.py: {tool} not found (run tests/interop/setup.sh)')
    manifest = build(args.outdir, args.crl_url_base, args.bench_pdf)
    print(f'{len(manifest["entries"])} signed files in {args.outdir}')


if __name__ == '__main__':
    main()
