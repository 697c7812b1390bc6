#!/usr/bin/env python3
"""pyHanko's AdES validator as a third-party judge: one EN 319 102-1 verdict as one JSON line.

usage: validation_judge.py FILE --trust ROOT.pem [--trust ...] [--detached DOC]
                           [--format pades|cades] [--revinfo CRL-OR-OCSP ...]

FILE is a PDF (PAdES) or a DER/PEM CMS SignedData (CAdES); --format overrides the guess from the
first bytes. --detached DOC is the content of a detached CMS (without it such a CMS is
INDETERMINATE/SIGNED_DATA_NOT_FOUND). --revinfo adds CRLs or OCSP responses (DER or PEM) that
the validator knows besides those in the file. Nothing is fetched (no network): revocation data
and certificates are what the file carries, the anchors and --revinfo.

pyHanko implements the EN 319 102-1 processes in pyhanko.sign.validation.ades (its AdES
sub-indications are the standard names); the judge runs the one that fits what the signature
carries, as a signature validation application would:
  - PAdES with a signature time-stamp or a later document time-stamp: ades_lta_validation
    (§5.6; what pyHanko's own AdES command runs). Not ades_with_time_validation alone: that one
    passes a signature time-stamped after its signer certificate expired;
  - CAdES with a signature time-stamp: ades_with_time_validation (§5.5; pyHanko has no CMS
    long-term process, and inherits the expiry gap above);
  - otherwise: ades_basic_validation (§5.3). (pyHanko's with-time process calls a missing
    signature time-stamp SIG_CONSTRAINTS_FAILURE; EN 319 102-1 does not, so B-B goes here.)
Settings: revocation data required for the signer and CA certificates (REQUIRE_REVINFO, usable
between thisUpdate and nextUpdate); pyHanko reports missing data as
CERTIFICATE_CHAIN_GENERAL_FAILURE (EN 319 102-1: TRY_LATER). Every object the validator holds
(anchors, certificates and revocation data of the file, --revinfo) gets a proof of existence
at the validation time, and the anchors are known certificates too: without that, pyHanko's past
validation of a B-T/B-LT PDF fails with NO_POE (see with_poe_now, validation_spec).
A PAdES signature that passes but does not cover its revision, or whose later revisions change
more than pyHanko's diff policy allows, is reported INDETERMINATE/SIG_CONSTRAINTS_FAILURE.

Output, one line on stdout:
  {"indication": "TOTAL-PASSED|TOTAL-FAILED|INDETERMINATE", "sub_indication": NAME|null,
   "level": "B-B|B-T|B-LT|B-LTA"|null, "process": ..., "detail": pyHanko's summary}
`level` is the baseline level whose elements the signature carries (cumulative: B-T needs a
signature time-stamp, B-LT also revocation data in the DSS / SignedData.crls / revocation-values,
B-LTA also a later document time-stamp / archive-time-stamp-v3), read from the file by this
judge: pyHanko does not report one. A file pyHanko cannot parse is TOTAL-FAILED/FORMAT_FAILURE.
Exit status: 0 when a verdict was printed (whatever it is), 2 on usage errors (including a
format pyHanko does not validate: XML, JWS).
"""
import argparse
import asyncio
import dataclasses
import hashlib
import io
import json
import logging
import sys

USAGE_ERROR = 2

CAdES_ARCHIVE_TIME_STAMP_V3 = '0.4.0.1733.2.4'
CAdES_REVOCATION_VALUES = '1.2.840.113549.1.9.16.2.24'
OCSP_RESPONSE_FORMAT = '1.3.6.1.5.5.7.16.2'


def emit(indication, sub_indication, level, process, detail):
    print(json.dumps({
        'indication': indication,
        'sub_indication': sub_indication,
        'level': level,
        'process': process,
        'detail': detail,
    }))


def from_subindic(subindic):
    """pyHanko's AdESSubIndic -> EN 319 102-1 (indication, sub-indication)."""
    from pyhanko.sign.ades.report import AdESStatus

    indication = {
        AdESStatus.PASSED: 'TOTAL-PASSED',
        AdESStatus.FAILED: 'TOTAL-FAILED',
        AdESStatus.INDETERMINATE: 'INDETERMINATE',
    }[subindic.status]
    sub = None if subindic.status == AdESStatus.PASSED else subindic.standard_name
    return indication, sub


def describe(result, process):
    parts = [f'pyHanko {process}: {result.ades_subindic.standard_name}']
    status = result.api_status
    if status is not None:
        try:
            parts.append(status.summary())
        except Exception:  # summary() needs fields a failed status may lack
            pass
        for name in ('intact', 'valid', 'trusted', 'revoked', 'coverage', 'modification_level'):
            value = getattr(status, name, None)
            if value is not None:
                parts.append(f'{name}={getattr(value, "name", value)}')
        ts = getattr(status, 'timestamp_validity', None)
        if ts is not None:
            parts.append(f'signature time-stamp at {ts.timestamp.isoformat()}')
    if result.failure_msg:
        parts.append(str(result.failure_msg))
    return '; '.join(parts)


# --- validation data --------------------------------------------------------------------------


def load_der_or_pem(data: bytes):
    from asn1crypto import pem

    if pem.detect(data):
        return [der for _, _, der in pem.unarmor(data, multiple=True)]
    return [data]


def revinfo_knowledge(paths):
    """CRLs and OCSP responses from files, as pyHanko local knowledge."""
    from asn1crypto import crl, ocsp
    from pyhanko.sign.validation.policy_decl import LocalKnowledge
    from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

    crls, ocsps = [], []
    for path in paths:
        with open(path, 'rb') as f:
            blobs = load_der_or_pem(f.read())
        for der in blobs:
            try:
                resp = ocsp.OCSPResponse.load(der)
                resp['response_status'].native  # noqa: B018 - forces parsing
                if resp['response_bytes']['response_type'].native == 'basic_ocsp_response':
                    ocsps.extend(OCSPContainer.load_multi(resp))
                    continue
            except (ValueError, TypeError, KeyError):
                pass
            parsed = crl.CertificateList.load(der)
            parsed.native  # noqa: B018 - fails here on anything that is not a CRL
            crls.append(CRLContainer(crl_data=parsed))
    return LocalKnowledge(known_crls=crls, known_ocsps=ocsps)


def revocation_values_class():
    """EN 319 122-1 RevocationValues (explicitly tagged, as in its ASN.1 module)."""
    from asn1crypto import core, crl, ocsp

    class CertificateLists(core.SequenceOf):
        _child_spec = crl.CertificateList

    class BasicOCSPResponses(core.SequenceOf):
        _child_spec = ocsp.BasicOCSPResponse

    class RevocationValues(core.Sequence):
        _fields = [
            ('crl_vals', CertificateLists, {'explicit': 0, 'optional': True}),
            ('ocsp_vals', BasicOCSPResponses, {'explicit': 1, 'optional': True}),
            ('other_rev_vals', core.Any, {'explicit': 2, 'optional': True}),
        ]

    return RevocationValues


def cms_knowledge(signed_data, signer_info):
    """Validation data carried in a CMS: SignedData.crls (CRLs and OCSP responses as `other`
    RevocationInfoChoice) and the CAdES revocation-values unsigned attribute."""
    from asn1crypto import core, ocsp
    from pyhanko.sign.validation.policy_decl import LocalKnowledge
    from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

    crls, ocsps = [], []
    choices = signed_data['crls']
    if not isinstance(choices, core.Void):
        for choice in choices:
            if choice.name == 'crl':
                crls.append(CRLContainer(crl_data=choice.chosen))
            elif choice.name == 'other':
                other = choice.chosen
                if other['other_rev_info_format'].dotted == OCSP_RESPONSE_FORMAT:
                    resp = ocsp.OCSPResponse.load(other['other_rev_info'].dump())
                    ocsps.extend(OCSPContainer.load_multi(resp))
    unsigned = signer_info['unsigned_attrs']
    if not isinstance(unsigned, core.Void):
        for attr in unsigned:
            if attr['type'].dotted != CAdES_REVOCATION_VALUES:
                continue
            for value in attr['values']:
                values = revocation_values_class().load(value.dump())
                crl_vals, ocsp_vals = values['crl_vals'], values['ocsp_vals']
                for item in [] if isinstance(crl_vals, core.Void) else crl_vals:
                    crls.append(CRLContainer(crl_data=item))
                for item in [] if isinstance(ocsp_vals, core.Void) else ocsp_vals:
                    resp = ocsp.OCSPResponse({
                        'response_status': 'successful',
                        'response_bytes': {'response_type': 'basic_ocsp_response',
                                           'response': item},
                    })
                    ocsps.extend(OCSPContainer.load_multi(resp))
    return LocalKnowledge(known_crls=crls, known_ocsps=ocsps)


def cms_certificates(signed_data):
    """The certificates of a SignedData and of the time-stamp tokens in its unsigned
    attributes, as local knowledge."""
    from asn1crypto import core
    from pyhanko.sign.validation import generic_cms
    from pyhanko.sign.validation.policy_decl import LocalKnowledge

    certs = []
    choices = signed_data['certificates']
    if not isinstance(choices, core.Void):
        certs.extend(c.chosen for c in choices if c.name == 'certificate')
    for si in signed_data['signer_infos']:
        for token in generic_cms.extract_tst_data_iter(si, signed=False):
            certs.extend(cms_certificates(token).known_certs)
    return LocalKnowledge(known_certs=certs)


def with_poe_now(knowledge, now):
    """Adds a proof of existence at the validation time for every object the validator holds
    (EN 319 102-1 §5.6.2: what the SVA has, exists now). Without it pyHanko's POE manager dates
    an object it first meets during past validation at the moment of that lookup, a few
    milliseconds after the validation time, and past validation of a B-T or B-LT signature
    (no document time-stamp) fails with NO_POE."""
    return dataclasses.replace(knowledge, known_poes=list(knowledge.assert_existence_known_at(now)))


def merge(*knowledge):
    from pyhanko.sign.validation.policy_decl import LocalKnowledge

    return LocalKnowledge(
        known_crls=[c for k in knowledge for c in k.known_crls],
        known_ocsps=[o for k in knowledge for o in k.known_ocsps],
        known_certs=[c for k in knowledge for c in k.known_certs],
        known_poes=[p for k in knowledge for p in k.known_poes],
    )


def validation_spec(trust_paths, knowledge, now):
    from pyhanko.keys import load_certs_from_pemder
    from pyhanko.sign.validation.policy_decl import (
        CertificateFetchingRule,
        LocalKnowledge,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
    from pyhanko_certvalidator.registry import SimpleTrustManager

    roots = list(load_certs_from_pemder(trust_paths))
    # The anchors are also known certificates (with a POE now): pyHanko's past validation looks
    # CRL issuers up among known certificates only, so without this it cannot check the CRL of
    # a CA issued by an anchor unless the file happens to carry the anchor itself.
    knowledge = merge(knowledge, with_poe_now(LocalKnowledge(known_certs=roots), now))
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=roots),
        revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
    )
    return SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
            certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
        ),
        local_knowledge=knowledge,
    )


def has_signature_timestamp(signer_info):
    from pyhanko.sign.validation import generic_cms

    return next(generic_cms.extract_tst_data_iter(signer_info, signed=False), None) is not None


# --- PAdES ------------------------------------------------------------------------------------


def judge_pades(path, trust, extra_revinfo):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
    from pyhanko.sign.validation import ades
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.errors import NoDSSFoundError
    from pyhanko.sign.validation.policy_decl import PdfSignatureValidationSpec
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

    with open(path, 'rb') as f:
        data = f.read()
    try:
        reader = PdfFileReader(io.BytesIO(data))
        signatures = reader.embedded_regular_signatures
    except Exception as e:  # any PDF syntax problem pyHanko's reader refuses
        return emit('TOTAL-FAILED', 'FORMAT_FAILURE', None, 'pdf-reader',
                    f'pyHanko cannot read the PDF: {e}')
    if not signatures:
        return emit('INDETERMINATE', 'SIGNED_DATA_NOT_FOUND', None, 'pdf-reader',
                    'no signature field with a signature in the PDF')
    sig = signatures[0]
    timestamps_after = [ts for ts in reader.embedded_timestamp_signatures
                        if ts.signed_revision > sig.signed_revision]

    # Structural level.
    try:
        dss = DocumentSecurityStore.read_dss(reader)
        dss_has_revinfo = bool(list(dss.crls) or list(dss.ocsps))
    except NoDSSFoundError:
        dss_has_revinfo = False
    level = 'B-B'
    if has_signature_timestamp(sig.signer_info):
        level = 'B-T'
        if dss_has_revinfo:
            level = 'B-LT'
            if timestamps_after:
                level = 'B-LTA'

    try:
        sig.compute_integrity_info(diff_policy=DEFAULT_DIFF_POLICY)
    except Exception as e:
        return emit('TOTAL-FAILED', 'FORMAT_FAILURE', level, 'pdf-integrity',
                    f'pyHanko cannot evaluate the signed revision: {e}')
    timing = ValidationTimingInfo.now()
    # What the file carries: the DSS, Adobe's revocation-info-archival attribute, and the
    # certificates of the signature and of its time-stamp tokens.
    carried = merge(extra_revinfo, ades._dss_to_local_knowledge(reader),
                    ades._adobe_revinfo_archival_to_local_knowledge(sig),
                    cms_certificates(sig.signed_data), *(
                        cms_certificates(ts.signed_data) for ts in timestamps_after))
    spec = validation_spec(trust, with_poe_now(carried, timing.validation_time),
                           timing.validation_time)
    if level != 'B-B' or timestamps_after:
        # pyHanko's own AdES command validates every PAdES signature this way; its separate
        # with-time process (§5.5) passes a signature time-stamped after its signer
        # certificate expired (it leaves expiry to past validation), so it is not used alone.
        process = 'ades_lta_validation (EN 319 102-1 §5.6)'
        result = asyncio.run(ades.ades_lta_validation(
            sig, PdfSignatureValidationSpec(signature_validation_spec=spec,
                                            diff_policy=DEFAULT_DIFF_POLICY),
            timing_info=timing,
        ))
    else:
        process = 'ades_basic_validation (EN 319 102-1 §5.3)'
        # (pyHanko's basic process builds a plain CMS status: the PDF integrity facts are
        # checked below instead of passed in.)
        result = asyncio.run(ades.ades_basic_validation(
            sig.signed_data, spec, timing_info=timing, raw_digest=sig.compute_digest(),
        ))
    indication, sub = from_subindic(result.ades_subindic)
    integrity = sig.summarise_integrity_info()
    coverage = integrity['coverage']
    diff = integrity['diff_result']
    detail = describe(result, process)
    detail += f'; coverage={coverage.name}'
    if diff is not None:
        detail += f'; modifications={getattr(diff, "modification_level", diff)!s}'
    if indication == 'TOTAL-PASSED' and (
            integrity['docmdp_ok'] is False
            or coverage < SignatureCoverageLevel.ENTIRE_REVISION):
        # Cryptography and trust pass, but the signature does not cover its revision, or the
        # later revisions change more than pyHanko's diff policy allows: EN 319 102-1 has no
        # PDF-specific outcome; the signed data is not what is shown.
        indication, sub = 'INDETERMINATE', 'SIG_CONSTRAINTS_FAILURE'
        detail += '; pyHanko PDF integrity check failed (coverage or modifications)'
    emit(indication, sub, level, process, detail)


# --- CAdES ------------------------------------------------------------------------------------


def judge_cades(path, trust, detached, extra_revinfo):
    from asn1crypto import cms, core
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko.sign.validation import ades
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

    with open(path, 'rb') as f:
        data = f.read()
    try:
        der = load_der_or_pem(data)[0]
        ci = cms.ContentInfo.load(der)
        if ci['content_type'].native != 'signed_data':
            raise ValueError(f'content type {ci["content_type"].native}, not signed_data')
        signed_data = ci['content']
        signer_infos = signed_data['signer_infos']
        if len(signer_infos) != 1:
            raise ValueError(f'{len(signer_infos)} SignerInfos (the judge takes exactly one)')
        signer_info = signer_infos[0]
        signer_info.native  # noqa: B018 - parse everything now
        md_algorithm = signer_info['digest_algorithm']['algorithm'].native
        attached = not isinstance(signed_data['encap_content_info']['content'], core.Void)
    except Exception as e:
        return emit('TOTAL-FAILED', 'FORMAT_FAILURE', None, 'cms-parser',
                    f'not a CMS SignedData pyHanko can read: {e}')

    level = 'B-B'
    if has_signature_timestamp(signer_info):
        level = 'B-T'
        carried = cms_knowledge(signed_data, signer_info)
        if carried.known_crls or carried.known_ocsps:
            level = 'B-LT'
            unsigned = signer_info['unsigned_attrs']
            if not isinstance(unsigned, core.Void) and any(
                    a['type'].dotted == CAdES_ARCHIVE_TIME_STAMP_V3 for a in unsigned):
                level = 'B-LTA'

    raw_digest = None
    if not attached:
        if detached is None:
            return emit('INDETERMINATE', 'SIGNED_DATA_NOT_FOUND', level, 'cms-parser',
                        'detached CMS and no --detached content given')
        digest = hashlib.new(get_pyca_cryptography_hash(md_algorithm).name)
        with open(detached, 'rb') as f:
            digest.update(f.read())
        raw_digest = digest.digest()
    elif detached is not None:
        return usage('the CMS encapsulates its content; --detached is not expected')

    timing = ValidationTimingInfo.now()
    carried = merge(extra_revinfo, cms_knowledge(signed_data, signer_info),
                    cms_certificates(signed_data))
    spec = validation_spec(trust, with_poe_now(carried, timing.validation_time),
                           timing.validation_time)
    if has_signature_timestamp(signer_info):
        process = 'ades_with_time_validation (EN 319 102-1 §5.5)'
        coro = ades.ades_with_time_validation(signed_data, spec, timing_info=timing,
                                              raw_digest=raw_digest)
    else:
        process = 'ades_basic_validation (EN 319 102-1 §5.3)'
        coro = ades.ades_basic_validation(signed_data, spec, timing_info=timing,
                                          raw_digest=raw_digest)
    result = asyncio.run(coro)
    indication, sub = from_subindic(result.ades_subindic)
    emit(indication, sub, level, process, describe(result, process))


def usage(message):
    print(f'validation_judge.py: {message}', file=sys.stderr)
    sys.exit(USAGE_ERROR)


def guess_format(path):
    with open(path, 'rb') as f:
        head = f.read(1024)
    if b'%PDF-' in head:
        return 'pades'
    stripped = head.lstrip()
    if stripped.startswith(b'\x30') or stripped.startswith(b'-----BEGIN'):
        return 'cades'
    if stripped.startswith(b'<'):
        usage(f'{path} looks like XML: pyHanko does not validate XAdES/XMLDSig')
    usage(f'{path}: neither a PDF nor a CMS (pyHanko validates PAdES and CAdES only)')


def main():
    parser = argparse.ArgumentParser(usage=__doc__.split('\n\n')[1].strip())
    parser.error = usage  # usage errors exit with 2 and one line on stderr
    parser.add_argument('file')
    parser.add_argument('--trust', action='append', required=True, metavar='ROOT.pem')
    parser.add_argument('--detached', metavar='DOC')
    parser.add_argument('--format', choices=('pades', 'cades'))
    parser.add_argument('--revinfo', action='append', default=[], metavar='CRL-OR-OCSP')
    args = parser.parse_args()
    for p in [args.file, *args.trust, *args.revinfo] + ([args.detached] if args.detached else []):
        try:
            open(p, 'rb').close()
        except OSError as e:
            usage(f'{p}: {e.strerror}')
    logging.basicConfig(level=logging.CRITICAL)  # pyHanko logs what the verdict says anyway
    fmt = args.format or guess_format(args.file)
    try:
        knowledge = revinfo_knowledge(args.revinfo)
    except Exception as e:
        usage(f'--revinfo: not a CRL or OCSP response: {e}')
    if fmt == 'pades':
        if args.detached:
            usage('--detached is for CAdES only')
        judge_pades(args.file, args.trust, knowledge)
    else:
        judge_cades(args.file, args.trust, args.detached, knowledge)


if __name__ == '__main__':
    main()
