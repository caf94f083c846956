"""Fuzz the CIPSO decoder, schema and validators with random and mutated options.

    python -m tests.cipso.fuzz --count 1000000 [--seed N]

Only the package's typed errors may escape; a well-formed option must re-encode to the same
bytes; an option the validator accepts must decode, and validate the same way from its model.
Prints a summary and exits non-zero on the first violation (with the input in hex).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Callable

import cipso
from cipso import schema

DOIS = [
    cipso.CipsoDoi.from_netlabelctl("pass doi:16 tags:1"),
    cipso.CipsoDoi.from_netlabelctl("pass doi:100 tags:1,2,5"),
    cipso.CipsoDoi.from_netlabelctl("trans doi:8 tags:1 levels:0=0,1=1 categories:0=1,1=0"),
    cipso.CipsoDoi.local(5),
    cipso.CipsoDoi.from_netlabelctl("pass doi:7 tags:1,1,2,5,5"),
]
DOI_NUMBERS = [doi.doi for doi in DOIS] + [0, 17, 0xFFFFFFFF]
TAG_TYPES = [0, 1, 1, 1, 2, 2, 5, 5, 6, 7, 128, 128, 3, 255]


def random_option(rng: random.Random) -> bytes:
    """A plausible option: mostly well-formed, with one or two tags of likely types."""
    body = bytearray()
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        kind = rng.choice(TAG_TYPES)
        room = 34 - len(body)
        if room < 2:
            break
        if kind == 128:
            data = rng.randbytes(4)
        elif kind in (2, 5):
            count = rng.randint(0, min(15, max(0, (room - 4) // 2)))
            numbers = sorted(rng.randint(0, 65535) for _ in range(count))
            if kind == 5 or rng.random() < 0.1:
                numbers.reverse()
            data = bytes([0, rng.randint(0, 3)]) + b"".join(n.to_bytes(2, "big") for n in numbers)
        else:
            data = bytes([0, rng.randint(0, 3)]) + rng.randbytes(rng.randint(0, max(0, room - 4)))
        data = data[: room - 2]
        body += bytes([kind, len(data) + 2]) + data
    doi = rng.choice(DOI_NUMBERS)
    return bytes([0x86, 6 + len(body)]) + doi.to_bytes(4, "big") + bytes(body)


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One change where parsers usually go wrong."""
    out = bytearray(data)
    choice = rng.randrange(7)
    if choice == 0 and out:
        out[rng.randrange(len(out))] = rng.randrange(256)
    elif choice == 1 and len(out) > 1:
        out[1] = rng.choice((0, 1, 2, 5, 6, 7, 8, len(out) - 1, len(out) + 1, rng.randrange(256)))
    elif choice == 2 and len(out) > 7:
        out[7] = (out[7] + rng.choice((-2, -1, 1, 2, 100))) & 0xFF
    elif choice == 3 and out:
        del out[rng.randrange(len(out)) :]
    elif choice == 4:
        out += rng.randbytes(rng.randint(1, 6))
    elif choice == 5 and len(out) > 11:
        first, second = rng.randrange(10, len(out) - 1), rng.randrange(10, len(out) - 1)
        out[first], out[second] = out[second], out[first]
    elif choice == 6 and len(out) > 6:
        out[6] = rng.choice(TAG_TYPES)
    return bytes(out)


def random_input(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.15:
        return rng.randbytes(rng.randint(0, 48))
    if roll < 0.3:
        return bytes([0x86, rng.randint(0, 44)]) + rng.randbytes(rng.randint(0, 42))
    if roll < 0.5:
        return random_option(rng)
    data = random_option(rng)
    for _ in range(rng.choice((1, 1, 2, 3))):
        data = mutate(rng, data)
    return data


class Violation(AssertionError):
    pass


def _guarded(what: str, call: Callable[[], object], allowed: type[Exception]) -> object:
    try:
        return call()
    except allowed:
        raise
    except Exception as error:  # anything else is a bug
        raise Violation(f"{what} raised {type(error).__name__}: {error}") from error


def check_one(data: bytes, stats: Counter[str], with_schema: bool) -> None:
    try:
        option = _guarded("decode", lambda: cipso.decode(data), cipso.CipsoDecodeError)
        stats["decoded"] += 1
    except cipso.CipsoDecodeError:
        option = None
        stats["decode error"] += 1
    if isinstance(option, cipso.CipsoOption) and cipso.encode(option) != data:
        raise Violation("a decoded option did not re-encode to the same bytes")
    if with_schema:
        try:
            parsed = _guarded("schema.parse", lambda: schema.parse(data), cipso.CipsoDecodeError)
        except cipso.CipsoDecodeError:
            parsed = None
        if parsed != option:
            raise Violation(f"schema.parse gave {parsed!r}, decode gave {option!r}")
    for loopback in (False, True):
        _check_validate(data, option, stats, loopback)
    verdict = _guarded("verdict", lambda: cipso.verdict(data[:40], DOIS), cipso.CipsoError)
    assert isinstance(verdict, cipso.Verdict)
    stats["area accepted" if verdict.accepted else "area rejected"] += 1


def _check_validate(data: bytes, option: object, stats: Counter[str], loopback: bool) -> None:
    try:
        _guarded(
            "validate",
            lambda: cipso.validate(data, DOIS, loopback=loopback),
            cipso.CipsoValidationError,
        )
    except cipso.CipsoValidationError as error:
        stats[f"rejected at {error.offset}"] += not loopback
        return
    stats["accepted"] += not loopback
    if option is None and len(data) >= 2 and data[1] == len(data):
        raise Violation("the validator accepted an option the decoder refused")
    if isinstance(option, cipso.CipsoOption):
        cipso.validate(option, DOIS, loopback=loopback)


def run(count: int, seed: int, schema_every: int = 50, report: bool = True) -> Counter[str]:
    rng = random.Random(seed)
    stats: Counter[str] = Counter()
    started = time.perf_counter()
    for index in range(count):
        data = random_input(rng)
        try:
            check_one(data, stats, with_schema=index % schema_every == 0)
        except Violation as violation:
            raise Violation(f"input {index} ({data.hex()}): {violation}") from violation
    if report:
        elapsed = time.perf_counter() - started
        print(f"{count} inputs in {elapsed:.1f} s ({count / elapsed:,.0f}/s), seed {seed}")
        for key, value in sorted(stats.items(), key=lambda item: -item[1]):
            print(f"  {key}: {value}")
        print("no violations")
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schema-every", type=int, default=50, help="also run the schema on 1/N")
    args = parser.parse_args(argv)
    try:
        run(args.count, args.seed, args.schema_every)
    except Violation as violation:
        print(f"VIOLATION {violation}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
