#!/usr/bin/env python3
"""pyHanko's validator timed on one file, for scripts/bench-verify.

usage: bench_validate.py FILE --trust ROOT.pem --runs N

Validates the PDF N times in this one process with exactly what validation_judge.py runs for a
PAdES (pyHanko's EN 319 102-1 long-term process when the signature is time-stamped), after one
unmeasured warm-up run; imports and the warm-up are not timed. Prints one JSON line: runs,
seconds (all runs), per_second, and the verdict of the last run (which must be the same each
time). Exit status 0 when it ran, 2 on usage errors.
"""
import argparse
import contextlib
import io
import json
import logging
import sys
import time

import validation_judge


def main():
    parser = argparse.ArgumentParser(usage=__doc__.split('\n\n')[1].strip())
    parser.add_argument('file')
    parser.add_argument('--trust', action='append', required=True, metavar='ROOT.pem')
    parser.add_argument('--runs', type=int, default=10)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error('--runs must be at least 1')
    logging.basicConfig(level=logging.CRITICAL)

    def once():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            validation_judge.judge_pades(args.file, args.trust, validation_judge.revinfo_knowledge([]))
        return json.loads(out.getvalue())

    verdicts = {json.dumps(once(), sort_keys=True)}  # warm-up
    started = time.perf_counter()
    for _ in range(args.runs):
        verdict = once()
        verdicts.add(json.dumps(verdict, sort_keys=True))
    seconds = time.perf_counter() - started
    if len(verdicts) != 1:
        print(f'bench_validate: the verdict changed between runs: {verdicts}', file=sys.stderr)
        sys.exit(1)
    print(json.dumps({'runs': args.runs, 'seconds': round(seconds, 3),
                      'per_second': round(args.runs / seconds, 2), 'verdict': verdict}))


if __name__ == '__main__':
    main()
