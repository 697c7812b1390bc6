#!/usr/bin/env python3
"""Signs many PDFs (PAdES B-B) through a CSC server with pyHanko's CSCSigner, in one process.

The pyHanko side of scripts/bench-sign; it also writes the benchmark's input PDFs.

usage: csc_sign_many.py make-pdfs --count N --kb K [--prefix NAME] DIR
       csc_sign_many.py sign --url URL --credential ID --user NAME --password PW --pin PIN
                             [--totp-secret BASE32] [--api v1|v2] [--batch N]
                             --out-dir DIR IN.pdf...

make-pdfs: N valid one-page PDFs of about K kB each (pyHanko's writer; an uncompressed page
content stream of line drawings pads the file), all different (each names its number and draws
other lines). Prints a JSON line: count, smallest and largest size in bytes.

sign: one aiohttp session, one `auth/login` (HTTP Basic), one `credentials/info`, one
CSCSigner and one PdfSigner for all documents. Each document is signed as csc_sign_pdf.py signs
one: pyHanko's plain PdfSigner (PAdES B-B, field Signature1), and for each batch of hashes
pyHanko commits, `credentials/authorize` with the PIN (and the hashes when the credential pins
them, i.e. SCAL2; a TOTP code when --totp-secret is given) then `signatures/signHash`. With the
default --batch 1 that is pyHanko's default CSCSigner: documents one after another, one
authorization and one signHash each. --batch N signs N documents concurrently on a CSCSigner
with batch_size N (one authorization and one signHash per N). Outputs go to
DIR/NAME-signed.pdf. Prints one JSON line: documents, seconds (login to last file written),
docs_per_second, authorizations, sign_hash_calls. Exit status 0 only when every document was
signed.
"""
import argparse
import asyncio
import json
import os
import random
import sys
import time

import aiohttp
from pyhanko.pdf_utils import generic, writer
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers import csc_signer


# ---------------------------------------------------------------------------------------------
# make-pdfs

def filler_lines(seed: int, count: int) -> list[bytes]:
    """`count` content-stream lines, each a short stroked line at random coordinates."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        x1, y1, x2, y2 = (rng.randint(36, 559), rng.randint(36, 806), rng.randint(36, 559), rng.randint(36, 806))
        out.append(f'{x1} {y1} m {x2} {y2} l S\n'.encode())
    return out


def write_pdf(path: str, label: str, body: bytes) -> int:
    """One A4 page: `label` in Helvetica, then `body` (content-stream operators). Returns the
    file size."""
    pdf = writer.PdfFileWriter()
    font = pdf.add_object(generic.DictionaryObject({
        generic.pdf_name('/Type'): generic.pdf_name('/Font'),
        generic.pdf_name('/Subtype'): generic.pdf_name('/Type1'),
        generic.pdf_name('/BaseFont'): generic.pdf_name('/Helvetica'),
    }))
    resources = generic.DictionaryObject({
        generic.pdf_name('/Font'): generic.DictionaryObject({generic.pdf_name('/F1'): font}),
    })
    head = f'BT /F1 24 Tf 72 760 Td ({label}) Tj ET\n0.2 w\n'.encode()
    contents = pdf.add_object(generic.StreamObject(stream_data=head + body))
    media_box = generic.ArrayObject(generic.NumberObject(n) for n in (0, 0, 595, 842))
    pdf.insert_page(writer.PageObject(contents=contents, media_box=media_box, resources=resources))
    with open(path, 'wb') as out:
        pdf.write(out)
    return os.path.getsize(path)


def make_pdfs(args: argparse.Namespace) -> None:
    os.makedirs(args.dir, exist_ok=True)
    target = args.kb * 1024
    # The PDF around the content stream is about 700 bytes.
    body_bytes = max(0, target - 700)
    # A pool of lines, longer than one document needs; document i starts at its own offset.
    pool = filler_lines(seed=20240611, count=body_bytes // 14 + 4096)
    sizes = []
    width = len(str(args.count))
    for i in range(1, args.count + 1):
        start = (i * 7919) % 4096
        chunk, n = [], 0
        j = start
        while n < body_bytes:
            line = pool[j % len(pool)]
            chunk.append(line)
            n += len(line)
            j += 1
        name = f'{args.prefix}-{i:0{width}d}.pdf'
        sizes.append(write_pdf(os.path.join(args.dir, name), f'Document {i} of {args.count}', b''.join(chunk)))
    print(json.dumps({'count': len(sizes), 'min_bytes': min(sizes), 'max_bytes': max(sizes)}))


# ---------------------------------------------------------------------------------------------
# sign

# The TOTP code and the error check are the one-file driver's (same folder, on sys.path).
from csc_sign_pdf import fail_unless_ok, login, totp_now  # noqa: E402


class Counters:
    authorizations = 0
    sign_hash_calls = 0


class PinAuthorization(csc_signer.CSCAuthorizationManager):
    """Explicit authorization per batch pyHanko commits: the PIN (and a TOTP code if given);
    the hashes only when the credential pins them (SCAL2), as the CSC API has it."""

    def __init__(self, http: aiohttp.ClientSession, args: argparse.Namespace, counters: Counters, **kwargs):
        super().__init__(**kwargs)
        self.http = http
        self.args = args
        self.counters = counters

    async def authorize_signature(self, hash_b64s):
        self.counters.authorizations += 1
        self.counters.sign_hash_calls += 1  # pyHanko authorizes once per signHash call
        otp = totp_now(self.args.totp_secret) if self.args.totp_secret else None
        if self.credential_info.hash_pinning_required:
            request = self.format_csc_auth_request(pin=self.args.pin, otp=otp, hash_b64s=hash_b64s)
        else:
            request = self.format_csc_auth_request(num_signatures=len(hash_b64s), pin=self.args.pin, otp=otp)
        url = self.csc_session_info.endpoint_url('credentials/authorize')
        async with self.http.post(url, json=request, headers=self.auth_headers) as response:
            body = await fail_unless_ok(response, 'credentials/authorize')
        return self.parse_csc_auth_response(body)


def output_path(out_dir: str, input_path: str) -> str:
    stem, ext = os.path.splitext(os.path.basename(input_path))
    return os.path.join(out_dir, f'{stem}-signed{ext or ".pdf"}')


async def sign_one(pdf_signer: signers.PdfSigner, input_path: str, out_dir: str) -> None:
    with open(input_path, 'rb') as source, open(output_path(out_dir, input_path), 'wb') as out:
        await pdf_signer.async_sign_pdf(IncrementalPdfFileWriter(source), output=out)


async def sign(args: argparse.Namespace) -> dict:
    os.makedirs(args.out_dir, exist_ok=True)
    counters = Counters()
    metadata = signers.PdfSignatureMetadata(field_name='Signature1', subfilter=fields.SigSeedSubFilter.PADES)
    field_spec = fields.SigFieldSpec('Signature1', box=(50, 50, 250, 100))
    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        token = await login(http, args.url, args.api, args.user, args.password)
        session = csc_signer.CSCServiceSessionInfo(
            service_url=args.url, credential_id=args.credential, oauth_token=token, api_ver=args.api)
        credential = await csc_signer.fetch_certs_in_csc_credential(http, session)
        if args.batch > credential.max_batch_size:
            sys.exit(f'--batch {args.batch}: the credential allows {credential.max_batch_size} (multisign)')
        auth = PinAuthorization(http, args, counters, csc_session_info=session, credential_info=credential)
        if args.batch == 1:
            # pyHanko's default: one CSCSigner, batch size 1, documents one after another.
            signer = csc_signer.CSCSigner(http, auth_manager=auth)
            pdf_signer = signers.PdfSigner(metadata, signer=signer, new_field_spec=field_spec)
            for path in args.inputs:
                await sign_one(pdf_signer, path, args.out_dir)
        else:
            # Groups of --batch documents signed concurrently; the CSCSigner commits (one
            # authorization, one signHash) when the group's last hash arrives.
            for i in range(0, len(args.inputs), args.batch):
                group = args.inputs[i:i + args.batch]
                signer = csc_signer.CSCSigner(http, auth_manager=auth, batch_size=len(group))
                pdf_signer = signers.PdfSigner(metadata, signer=signer, new_field_spec=field_spec)
                await asyncio.gather(*(sign_one(pdf_signer, path, args.out_dir) for path in group))
    seconds = time.perf_counter() - started
    return {
        'tool': 'pyhanko',
        'documents': len(args.inputs),
        'seconds': round(seconds, 3),
        'docs_per_second': round(len(args.inputs) / seconds, 2) if seconds > 0 else None,
        'authorizations': counters.authorizations,
        'sign_hash_calls': counters.sign_hash_calls,
        'batch': args.batch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)

    make = sub.add_parser('make-pdfs', help='write the input PDFs')
    make.add_argument('--count', type=int, required=True)
    make.add_argument('--kb', type=int, required=True, help='approximate size of each file in kB (1024 bytes)')
    make.add_argument('--prefix', default='doc')
    make.add_argument('dir')

    s = sub.add_parser('sign', help='sign PDFs with pyHanko through a CSC server')
    s.add_argument('--url', required=True, help='the CSC service, e.g. http://127.0.0.1:8080')
    s.add_argument('--credential', required=True, help='credentialID')
    s.add_argument('--user', required=True)
    s.add_argument('--password', required=True)
    s.add_argument('--pin', required=True)
    s.add_argument('--totp-secret', help='Base32 TOTP secret (SCAL2 credentials)')
    s.add_argument('--api', choices=('v1', 'v2'), default='v1')
    s.add_argument('--batch', type=int, default=1, help='documents per authorization and signHash (default 1)')
    s.add_argument('--out-dir', required=True)
    s.add_argument('inputs', nargs='+')

    args = parser.parse_args()
    if args.command == 'make-pdfs':
        make_pdfs(args)
        return
    if args.batch < 1:
        sys.exit('--batch must be at least 1')
    result = asyncio.run(sign(args))
    print(json.dumps(result))


if __name__ == '__main__':
    main()
