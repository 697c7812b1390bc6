#!/usr/bin/env python3
"""Writes a small, valid, unsigned PDF (A4 pages, empty content) to sign in tests and demos.

usage: make_pdf.py OUT.pdf [PAGES]     (default: 1 page)

pyHanko's own PDF writer makes it, so the file is one a real PDF library considers sound.
"""
import sys

from pyhanko.pdf_utils import generic, writer


def a4_page(pdf: writer.PdfFileWriter) -> writer.PageObject:
    media_box = generic.ArrayObject(generic.NumberObject(n) for n in (0, 0, 595, 842))
    contents = pdf.add_object(generic.StreamObject(stream_data=b''))
    return writer.PageObject(contents=contents, media_box=media_box)


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    pages = int(sys.argv[2]) if len(sys.argv) == 3 else 1
    pdf = writer.PdfFileWriter()
    for _ in range(pages):
        pdf.insert_page(a4_page(pdf))
    with open(sys.argv[1], 'wb') as out:
        pdf.write(out)


if __name__ == '__main__':
    main()
