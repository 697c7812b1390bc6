#!/usr/bin/env python3
"""Signs a PDF (PAdES) through any CSC server with pyHanko's CSCSigner: an independent CSC client.

usage: csc_sign_pdf.py --url URL --credential ID [--user NAME --password PW] [--pin PIN]
                       [--totp-secret BASE32] [--api v1|v2] [--pss] [--tsa URL] IN.pdf OUT.pdf

1. With --user, a service access token from `auth/login` (HTTP Basic).
2. pyHanko reads the credential (`credentials/info`: certificates, algorithms).
3. For each batch of hashes pyHanko needs signed: `credentials/authorize` with exactly those
   hashes (SCAL2 binds the SAD to them), the PIN and a TOTP code computed from --totp-secret
   (RFC 6238, SHA-1, 6 digits, 30 s), then `signatures/signHash`.

pyHanko speaks the CSC v1 member names (`hash`, `hashAlgo`, `PIN`, `OTP`) on both paths, so
`--api v2` also shows that a v2 server accepts them. `--pss` asks for RSASSA-PSS; `--tsa` adds an
RFC 3161 signature time-stamp from that URL (PAdES B-T). Exit status 0 only when OUT.pdf is written.
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import struct
import sys
import time

import aiohttp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers import csc_signer
from pyhanko.sign.timestamps import HTTPTimeStamper


def totp_now(secret_base32: str) -> str:
    """The current RFC 6238 code: HOTP(secret, floor(unix time / 30)), six digits."""
    padded = secret_base32.upper() + '=' * (-len(secret_base32) % 8)
    step = int(time.time()) // 30
    digest = hmac.new(base64.b32decode(padded), struct.pack('>Q', step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = int.from_bytes(digest[offset:offset + 4], 'big') & 0x7FFFFFFF
    return f'{code % 1_000_000:06d}'


async def fail_unless_ok(response: aiohttp.ClientResponse, what: str) -> dict:
    body = await response.json(content_type=None)
    if response.status != 200:
        sys.exit(f'{what}: HTTP {response.status}: {body}')
    return body


class PinAndTotp(csc_signer.CSCAuthorizationManager):
    """Explicit authorization: the hashes, the PIN and a fresh TOTP code for every batch."""

    def __init__(self, http: aiohttp.ClientSession, args: argparse.Namespace, **kwargs):
        super().__init__(**kwargs)
        self.http = http
        self.args = args

    async def authorize_signature(self, hash_b64s):
        otp = totp_now(self.args.totp_secret) if self.args.totp_secret else None
        request = self.format_csc_auth_request(pin=self.args.pin, otp=otp, hash_b64s=hash_b64s)
        url = self.csc_session_info.endpoint_url('credentials/authorize')
        async with self.http.post(url, json=request, headers=self.auth_headers) as response:
            body = await fail_unless_ok(response, 'credentials/authorize')
        return self.parse_csc_auth_response(body)


async def login(http: aiohttp.ClientSession, url: str, api: str, user: str, password: str) -> str:
    """auth/login with HTTP Basic; the access token."""
    basic = base64.b64encode(f'{user}:{password}'.encode()).decode()
    async with http.post(f'{url}/csc/{api}/auth/login', json={},
                         headers={'Authorization': f'Basic {basic}'}) as response:
        return (await fail_unless_ok(response, 'auth/login'))['access_token']


async def sign(args: argparse.Namespace) -> None:
    async with aiohttp.ClientSession() as http:
        token = None
        if args.user:
            token = await login(http, args.url, args.api, args.user, args.password or '')
        session = csc_signer.CSCServiceSessionInfo(
            service_url=args.url, credential_id=args.credential, oauth_token=token, api_ver=args.api)
        credential = await csc_signer.fetch_certs_in_csc_credential(http, session)
        auth = PinAndTotp(http, args, csc_session_info=session, credential_info=credential)
        signer = csc_signer.CSCSigner(http, auth_manager=auth, prefer_pss=args.pss)
        metadata = signers.PdfSignatureMetadata(
            field_name='Signature1', subfilter=fields.SigSeedSubFilter.PADES)
        pdf_signer = signers.PdfSigner(
            metadata, signer=signer,
            timestamper=HTTPTimeStamper(args.tsa) if args.tsa else None,
            new_field_spec=fields.SigFieldSpec('Signature1', box=(50, 50, 250, 100)))
        with open(args.input, 'rb') as source, open(args.output, 'wb') as out:
            await pdf_signer.async_sign_pdf(IncrementalPdfFileWriter(source), output=out)
    print(f'signed {args.output}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--url', required=True, help='the CSC service, e.g. http://127.0.0.1:8080')
    parser.add_argument('--credential', required=True, help='credentialID')
    parser.add_argument('--user', help='log in with HTTP Basic first (auth/login)')
    parser.add_argument('--password')
    parser.add_argument('--pin')
    parser.add_argument('--totp-secret', help='Base32 TOTP secret of the signer')
    parser.add_argument('--api', choices=('v1', 'v2'), default='v1')
    parser.add_argument('--pss', action='store_true', help='prefer RSASSA-PSS')
    parser.add_argument('--tsa', help='RFC 3161 time-stamping URL (PAdES B-T)')
    parser.add_argument('input')
    parser.add_argument('output')
    asyncio.run(sign(parser.parse_args()))


if __name__ == '__main__':
    main()
