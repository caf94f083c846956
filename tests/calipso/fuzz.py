"""Fuzz the CALIPSO decoder, validator and hop-by-hop code with random and mutated input.

    python -m tests.calipso.fuzz --count 1000000 [--seed N]

Every input goes through decode, strict decode and validate; every 64th also through the
construct schema, and every 4th, wrapped in a hop-by-hop header, through the header verdict,
walker, insertion and removal. Only our error types may escape, and whatever decodes must
re-encode to the same bytes, agree with the schema and agree with validate. Exits non-zero at
the first violation, printing the input in hex.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
from collections import Counter
from collections.abc import Callable

import calipso
from calipso import (
    CalipsoDecodeError,
    CalipsoDoi,
    CalipsoEncodeError,
    CalipsoOption,
    CalipsoValidationError,
    HopByHopError,
    decode,
    encode,
    insert_option,
    iter_options,
    remove_option,
    schema,
    validate,
)
from mls import CategorySet, Level

DOIS = frozenset({1, 2, 0xFFFFFFFF})
_DOI = CalipsoDoi(2)


def seeds(rng: random.Random) -> list[bytes]:
    """Valid options to mutate: kernel-made labels and odd but accepted shapes."""
    found = [
        _DOI.encode_label(Level.parse(text))
        for text in ("s0", "s3:c0,c5", "s0:c12,c345", "s15:c0.c1023", "s255:c1951")
    ]
    found.append(_DOI.encode_label(Level(1), empty_bitmap_word=True))
    found.append(encode(CalipsoOption(2, 4, b"\x40\0\0\0", b"\xde\xad\xbe")))
    found.append(encode(CalipsoOption.from_categories(1, 7, CategorySet.of(3), words=3)))
    for _ in range(32):
        words = rng.randrange(62)
        found.append(
            encode(
                CalipsoOption(rng.choice(tuple(DOIS)), rng.randrange(256), rng.randbytes(4 * words))
            )
        )
    return found


def mutate(rng: random.Random, data: bytes) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        choice = rng.randrange(8)
        if choice == 0 and buffer:  # flip a bit
            index = rng.randrange(len(buffer))
            buffer[index] ^= 1 << rng.randrange(8)
        elif choice == 1 and buffer:  # set a byte
            buffer[rng.randrange(len(buffer))] = rng.randrange(256)
        elif choice == 2 and len(buffer) > 1:  # the length byte
            buffer[1] = rng.choice((0, 7, 8, 9, 12, 252, 253, 254, 255, rng.randrange(256)))
        elif choice == 3 and len(buffer) > 6:  # the compartment length
            buffer[6] = rng.choice((0, 1, 61, 62, 255, rng.randrange(256)))
        elif choice == 4:  # truncate
            del buffer[rng.randrange(len(buffer) + 1) :]
        elif choice == 5:  # append
            buffer += rng.randbytes(rng.randrange(1, 9))
        elif choice == 6 and len(buffer) > 9:  # fix the checksum after the other mutations
            try:
                option = decode(bytes(buffer))
                buffer = bytearray(
                    encode(CalipsoOption(option.doi, option.level, option.bitmap, option.extra))
                )
            except CalipsoDecodeError:
                pass
        else:  # splice in random bytes
            start = rng.randrange(len(buffer) + 1)
            buffer[start:start] = rng.randbytes(rng.randrange(1, 5))
    return bytes(buffer)


def check_option(data: bytes, use_schema: bool) -> str:
    try:
        option = decode(data)
    except CalipsoDecodeError:
        option = None
    if option is not None and encode(option) != data:
        raise AssertionError("decode/encode do not round-trip")
    try:
        strict = decode(data, strict=True)
    except CalipsoDecodeError:
        strict = None
    if strict is not None and (option is None or not option.checksum_ok):
        raise AssertionError("strict decode accepted what lenient decode flags")
    if use_schema:
        try:
            twin: CalipsoOption | None = schema.parse(data)
        except CalipsoDecodeError:
            twin = None
        if twin != option:
            raise AssertionError(f"schema {twin!r} != codec {option!r}")
    try:
        validate(data, DOIS)
        outcome = "accepted"
    except CalipsoValidationError as error:
        outcome = f"rejected:{error.check}"
    expected = option is not None and option.checksum_ok and option.doi in DOIS
    if (outcome == "accepted") != expected:
        raise AssertionError(f"validate: {outcome}, but decode gives {option!r}")
    return outcome


def check_header(data: bytes) -> None:
    """Wrap ``data`` as if it were a header body; nothing but our errors may come out."""
    size = 2 + len(data)
    header = bytes((0, (size + 7) // 8 - 1)) + data + bytes(-size % 8)
    calipso.verdict(header, DOIS)
    calipso.verdict(header[: len(header) - 8] if len(header) > 8 else header, DOIS)
    calls: list[tuple[Callable[[], object], tuple[type[Exception], ...]]] = [
        (lambda: list(iter_options(header)), (HopByHopError,)),
        (lambda: remove_option(header), (HopByHopError,)),
        (lambda: insert_option(header, CalipsoOption(2, 1)), (HopByHopError, CalipsoEncodeError)),
        (lambda: _DOI.decode_header(header), (HopByHopError, CalipsoValidationError)),
    ]
    for call, allowed in calls:
        with contextlib.suppress(*allowed):
            call()


def run(count: int, seed: int) -> Counter[str]:
    rng = random.Random(seed)
    corpus = seeds(rng)
    outcomes: Counter[str] = Counter()
    for index in range(count):
        if index % 4 == 3:
            data = rng.randbytes(rng.randrange(40))
            if rng.randrange(2):
                data = b"\x07" + data
        else:
            data = mutate(rng, rng.choice(corpus))
        try:
            outcomes[check_option(data, use_schema=index % 64 == 0)] += 1
            if index % 4 == 0:
                check_header(data)
        except Exception:
            print(f"input {index} (seed {seed}): {data.hex()}", file=sys.stderr)
            raise
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    started = time.perf_counter()
    outcomes = run(args.count, seed)
    elapsed = time.perf_counter() - started
    print(f"{args.count} inputs in {elapsed:.1f} s (seed {seed}), no unexpected error:")
    for outcome, number in sorted(outcomes.items()):
        print(f"  {outcome:32} {number}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
