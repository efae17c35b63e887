"""Benchmark: what verifying an ePermit's XML Signature costs per permit.

The South African export permit of tests/fixtures/epermit (box 14 endorsed, Toolkit v2) is read
by ``parse_epermit`` twice over in the same run: unsigned with signatures ``off`` (parsing and
mapping only), and signed by a throwaway Management Authority key with signatures ``require``
(the same plus the signature: signxml's canonicalisation, digest and signature check, the
trust check against the certificate in the trust store). The difference is the verification's
cost per permit; the ratio is what to compare between machines.

Run: ``python bench/epermit_signature.py [--count N] [--key ec|rsa]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric import rsa

from cites_connector.devtools.epermit_signing import make_authority, sign_epermit
from cites_connector.mappings.epermit_signature import SignatureRules
from cites_connector.mappings.epermit_xml import parse_epermit

PERMIT = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "fixtures"
    / "epermit"
    / "26ZA004431-psittacus-box14-v2.xml"
)


def per_call_ms(work: Callable[[], object], count: int) -> float:
    for _ in range(max(1, count // 10)):  # warm up
        work()
    started = time.perf_counter()
    for _ in range(count):
        work()
    return (time.perf_counter() - started) * 1000 / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--key", choices=("ec", "rsa"), default="ec")
    args = parser.parse_args()

    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if args.key == "rsa"
        else None
    )
    authority = make_authority("ZA", key=key)
    unsigned = PERMIT.read_bytes()
    signed = sign_epermit(unsigned, authority)
    off = SignatureRules(policy="off")
    require = SignatureRules(policy="require", trusted=lambda country: [authority.certificate])

    plain = per_call_ms(lambda: parse_epermit(unsigned, version=1, signatures=off), args.count)
    checked = per_call_ms(lambda: parse_epermit(signed, version=1, signatures=require), args.count)
    print(f"permit: {PERMIT.name} ({len(unsigned)} bytes; signed {len(signed)} bytes)")
    print(f"key: {args.key}, {args.count} parses each")
    print(f"unsigned, signatures off:     {plain:7.3f} ms per permit")
    print(f"signed, signatures require:   {checked:7.3f} ms per permit")
    print(f"verification:                 {checked - plain:7.3f} ms per permit")
    print(f"ratio signed / unsigned:      {checked / plain:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
