"""Our hop-by-hop verdicts against the live kernel's (calipso.md §3, kernel-testing.md).

Every packet is an ICMPv6 echo request sent over veth between the harness's namespaces with a
scratch CALIPSO PASS DOI configured. B's kernel answers (echo reply), drops it silently
(Ip6InHdrErrors rises, no ICMPv6) or sends an ICMPv6 Parameter Problem; each observation must
equal what :func:`calipso.verdict` predicts for the same header bytes: the kind, and
for a Parameter Problem its code and pointer.

The kernel gives no reason for a silent drop, so each malformed class is checked twice: the
header with the fault is dropped, and the same header with only that fault repaired is
accepted; our verdict must name the class (:class:`calipso.Check`) and the byte at fault.
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import select
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import calipso
from calipso import Check, VerdictKind
from calipso.strategies import hop_by_hop_headers, labels, mutants, option_bytes
from labelnet.conformance._generate import rewrap_header
from mls import Level
from netlabel.harness import (
    SCRATCH_DOI_BASE,
    DoiInUse,
    KernelHarness,
    calipso_doi,
    list_calipso_dois,
)
from tests.calipso import corpus
from tests.support import checksum_swapped, need, need_program

pytestmark = pytest.mark.kernel


VECTORS = corpus.VECTORS
RECORDED = VECTORS["verdicts"]

#: The hop-by-hop header of the packets the harness sends has next header 58 (ICMPv6).
ICMPV6 = 58


@dataclass(frozen=True)
class Kernel:
    """The harness, the DOI configured for this module and one configured nowhere."""

    harness: KernelHarness
    doi: int
    unknown: int

    @property
    def model(self) -> calipso.CalipsoDoi:
        return calipso.CalipsoDoi(self.doi)

    def observe(self, header: bytes) -> tuple[str, int | None, int | None]:
        """B's verdict on a packet carrying ``header``: kind, Parameter Problem code and
        pointer (counted from the start of the IPv6 header)."""
        answer = self.harness.calipso_verdict(header)
        assert answer.delivered, "B did not receive the packet as sent"
        verdict = answer.verdict
        kinds = (VerdictKind.ACCEPTED, VerdictKind.DROPPED, VerdictKind.PARAMETER_PROBLEM)
        assert verdict is not None and verdict.kind in kinds, answer
        if verdict.kind is VerdictKind.PARAMETER_PROBLEM:
            assert answer.icmp_type == 4 and verdict.pointer is not None, answer
            return verdict.kind.value, verdict.code, verdict.pointer
        assert (verdict.code, verdict.pointer) == (None, None), answer
        return verdict.kind.value, None, None

    def predict(self, header: bytes) -> calipso.Verdict:
        # The harness sends the header with its first byte set to 58; that byte is not judged.
        return calipso.verdict(header, [self.doi])

    def compare(self, header: bytes) -> calipso.Verdict:
        """Assert that our verdict on ``header`` is the kernel's; return ours."""
        ours = self.predict(header)
        expected = (ours.kind.value, ours.code, ours.pointer)
        assert self.observe(header) == expected, f"header {header.hex()}: we say {ours}"
        return ours


@pytest.fixture(scope="module")
def kernel(kernel_harness: KernelHarness) -> Iterator[Kernel]:
    with calipso_doi() as doi:
        taken = list_calipso_dois()
        unknown = SCRATCH_DOI_BASE - 1
        while unknown in taken:
            unknown -= 1
        yield Kernel(kernel_harness, doi.doi, unknown)


def option(doi: int, level: str = "s3:c0,c5", **changes: Any) -> bytes:
    """The option the kernel sends for ``level`` with DOI number ``doi`` (0 too), with field
    changes (checksum recomputed unless ``bad_checksum`` is given)."""
    base = calipso.CalipsoDoi(1).label_option(Level.parse(level))
    return calipso.encode(dataclasses.replace(base, doi=doi, **changes))


def with_checksum(data: bytes) -> bytes:
    """``data`` (one option, any lengths) with the checksum the kernel would compute."""
    crc = calipso.crc16_x25(data[:8] + b"\0\0" + data[10 : data[1] + 2])
    return data[:8] + bytes((crc & 0xFF, crc >> 8)) + data[10:]


def header(*options: bytes) -> bytes:
    """A hop-by-hop header holding ``options`` back to back from offset 2, padded to 8."""
    return rewrap_header(b"".join(options), ICMPV6)


# --- options the kernel sends are accepted --------------------------------------------------


LEVELS = [
    "s0",
    "s3",
    "s255",
    "s3:c0,c5",
    "s1:c31",
    "s1:c32",
    "s7:c0.c1023",
    "s255:c0.c1951",
    "s2:c1951",
    "s15:c1,c5,c40,c100.c120",
]


@pytest.mark.parametrize("level", LEVELS)
def test_kernel_encoded_labels_are_accepted(kernel: Kernel, level: str) -> None:
    built = kernel.model.encode_header(Level.parse(level), next_header=ICMPV6)
    assert kernel.compare(built).accepted
    # Exactly what the receiving kernel reads back with this DOI.
    assert kernel.model.decode_header(built) == Level.parse(level)


# Examples run against the kernel fixture (one per module) and wait on it: no deadline.
ON_THE_KERNEL = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(ON_THE_KERNEL, max_examples=40)
@given(level=labels())
def test_random_labels_are_accepted(kernel: Kernel, level: Level) -> None:
    built = kernel.model.encode_header(level, next_header=ICMPV6)
    assert kernel.compare(built).accepted


def test_empty_bitmap_word_is_accepted(kernel: Kernel) -> None:
    built = kernel.model.encode_header(Level(4), empty_bitmap_word=True)
    assert built[2 + 6] == 1  # one all-zero word
    assert kernel.compare(built).accepted


@settings(ON_THE_KERNEL, max_examples=40)
@given(data=st.data())
def test_headers_built_by_insertion_are_accepted(kernel: Kernel, data: st.DataObject) -> None:
    # Router Alerts and skippable unknown options before and after, CALIPSO inserted (and
    # sometimes replaced) as calipso_opt_insert does.
    built = data.draw(hop_by_hop_headers(doi=kernel.doi))
    assert kernel.compare(built).accepted


@pytest.mark.parametrize(
    "before",
    [
        "05020000",  # Router Alert, then CALIPSO at 6
        "1e00",  # a skippable unknown option ending at 4: PadN(2) before CALIPSO
        "1e01aa",  # ending at 5: Pad1
        "1e02aaaa",  # ending at 6: no pad
        "1e03aaaaaa",  # ending at 7: PadN(3)
        "050200001e0400000000",  # two options
    ],
)
def test_insertion_into_existing_headers(kernel: Kernel, before: str) -> None:
    existing = header(bytes.fromhex(before))
    level = Level.parse("s9:c3,c70")
    built = kernel.model.encode_header(level, existing)
    offset = calipso.find_option(built)
    assert offset is not None and offset % 4 == 2
    assert kernel.compare(built).accepted
    # Replacing the label keeps the header acceptable.
    replaced = kernel.model.encode_header(Level.parse("s1"), built)
    assert kernel.compare(replaced).accepted
    assert kernel.model.decode_header(replaced) == Level(1)


def test_trailing_options_keep_alignment_and_are_accepted(kernel: Kernel) -> None:
    # CALIPSO first, a Router Alert after it; a longer label moves the RA by a multiple of 8.
    existing = bytes.fromhex("3a01") + option(kernel.doi, "s0") + bytes.fromhex("05020000")
    assert kernel.compare(existing).accepted
    for level in ("s0:c40", "s0:c100", "s0:c0.c300"):
        built = kernel.model.encode_header(Level.parse(level), existing)
        assert kernel.compare(built).accepted


# --- each rejection class: dropped, and accepted once repaired --------------------------------


@dataclass(frozen=True)
class Fault:
    name: str
    faulty: bytes  # hop-by-hop header with the fault
    repaired: bytes  # the same header with only the fault repaired
    check: Check | None  # the CALIPSO check our verdict must name (None: not a CALIPSO check)
    offset: int  # header offset of the byte at fault
    kind: VerdictKind = VerdictKind.DROPPED


def faults(doi: int, unknown: int) -> list[Fault]:
    good = option(doi)  # 14 bytes: 07 0c DOI 01 03 ck ck 84 00 00 00
    flipped = bytearray(good)
    flipped[8] ^= 0x01
    unswapped, swapped = checksum_swapped(lambda level: option(doi, f"s{level}:c0,c5"))
    plain = option(doi, "s3")  # 10 bytes: no bitmap
    short7 = bytes((0x07, 7)) + plain[2:9]
    short0 = bytes((0x07, 0))
    overrun = with_checksum(good[:6] + b"\x02" + good[7:])
    overrun255 = with_checksum(good[:6] + b"\xff" + good[7:])
    extra = option(doi, extra=b"\xde\xad")
    bad_extra = bytearray(extra)
    bad_extra[-1] ^= 0xFF  # extra bytes are covered by the checksum

    def after_valid(name: str, stray: bytes, kind: VerdictKind = VerdictKind.DROPPED) -> Fault:
        # Repaired, the stray option's action bits (the top two of its type) say "skip it".
        skipped = bytes((stray[0] & 0x3F,)) + stray[1:]
        return Fault(name, header(good, stray), header(good, skipped), None, 2 + len(good), kind)

    # Two options in one header: the second starts after the hop-by-hop header's 2 bytes and
    # the first option.
    two_valid = header(good, good)
    second = 2 + len(good)
    bad = bytes(flipped)
    valid_then_unknown = header(good, option(unknown))
    return [
        Fault("checksum bit", header(bad), header(good), Check.CHECKSUM, 10),
        Fault("checksum swapped", header(swapped), header(unswapped), Check.CHECKSUM, 10),
        Fault("unknown doi", header(option(unknown)), header(option(doi)), Check.UNKNOWN_DOI, 4),
        Fault("doi 0", header(option(0)), header(option(doi)), Check.UNKNOWN_DOI, 4),
        Fault("data length 7", header(short7), header(plain), Check.DATA_LENGTH, 3),
        Fault("data length 0", header(short0), header(short0[:0]), Check.DATA_LENGTH, 3),
        Fault("cmpt length 2 of 1", header(overrun), header(good), Check.COMPARTMENT_LENGTH, 8),
        Fault("cmpt length 255", header(overrun255), header(good), Check.COMPARTMENT_LENGTH, 8),
        Fault(
            "extra data, checksum not covering it",
            header(bytes(bad_extra)),
            header(extra),
            Check.CHECKSUM,
            10,
        ),
        Fault("valid then bad copy", header(good, bad), two_valid, Check.CHECKSUM, second + 8),
        Fault("bad copy then valid", header(bad, good), two_valid, Check.CHECKSUM, 10),
        Fault(
            "valid then unknown doi", valid_then_unknown, two_valid, Check.UNKNOWN_DOI, second + 2
        ),
        after_valid("stray 0x5e (action 01) after valid", bytes((0x5E, 0))),
        after_valid("stray 0x7e (action 01) after valid", bytes((0x7E, 2, 0xAA, 0xBB))),
        after_valid(
            "stray 0x9e (action 10) after valid", bytes((0x9E, 0)), VerdictKind.PARAMETER_PROBLEM
        ),
        after_valid(
            "stray 0xbe (action 10) after valid",
            bytes((0xBE, 1, 0xAA)),
            VerdictKind.PARAMETER_PROBLEM,
        ),
        after_valid(
            "stray 0xde (action 11, unicast) after valid",
            bytes((0xDE, 0)),
            VerdictKind.PARAMETER_PROBLEM,
        ),
        Fault(
            "stray 0x9e before an unknown doi",
            header(bytes((0x9E, 0)), option(unknown)),
            header(bytes((0x1E, 0)), option(doi)),
            None,
            2,
            VerdictKind.PARAMETER_PROBLEM,
        ),
        Fault(
            "option running past the header",
            # PadN(6), then a 14-byte CALIPSO option of which 8 bytes fit.
            bytes((0, 1, 0x01, 4, 0, 0, 0, 0)) + good[:8],
            header(good),
            None,
            9,
        ),
    ]


FAULT_NAMES = [f.name for f in faults(1, 2)]


@pytest.mark.parametrize("index", range(len(FAULT_NAMES)), ids=FAULT_NAMES)
def test_each_fault_class(kernel: Kernel, index: int) -> None:
    fault = faults(kernel.doi, kernel.unknown)[index]
    ours = kernel.compare(fault.faulty)
    assert ours.kind is fault.kind, ours
    assert ours.check is fault.check, ours
    assert ours.offset == fault.offset, ours
    if fault.kind is VerdictKind.PARAMETER_PROBLEM:
        assert ours.code == 2
    repaired = kernel.compare(fault.repaired)
    assert repaired.accepted, f"the repaired header {fault.repaired.hex()} is not accepted"


def test_extra_data_covered_by_the_checksum_is_accepted(kernel: Kernel) -> None:
    for extra in (b"\x01", b"\xde\xad", bytes(9)):
        data = option(kernel.doi, extra=extra)
        assert data[1] > 8 + 4 * data[6]
        assert kernel.compare(header(data)).accepted
        # validate() judges a bare option: its extra data is part of it, not trailing bytes.
        calipso.validate(data, [kernel.doi])


def test_duplicate_valid_options_are_accepted(kernel: Kernel) -> None:
    first = option(kernel.doi, "s3:c0,c5")
    second = option(kernel.doi, "s9:c100")
    assert kernel.compare(header(first, first)).accepted
    built = header(first, second)
    assert kernel.compare(built).accepted
    # The kernel reads the label from the first option.
    assert kernel.model.decode_header(built) == Level.parse("s3:c0,c5")


def test_alignment_and_level_are_not_checked(kernel: Kernel) -> None:
    good = option(kernel.doi, "s255:c0.c63")
    for lead in (b"\x00", b"\x01\x00", b"\x01\x01\x00", b"\x01\x02\x00\x00"):
        built = header(lead, good)
        assert (calipso.find_option(built) or 0) % 4 != 2 or lead == b"\x01\x02\x00\x00"
        assert kernel.compare(built).accepted


def test_validate_agrees_with_the_kernel_on_bare_options(kernel: Kernel) -> None:
    """validate() on one option and the kernel on a header holding only it (then padding)."""
    for fault in faults(kernel.doi, kernel.unknown):
        tlvs = [t for t in _tlvs(fault.faulty) if not t.is_padding]
        if len(tlvs) != 1 or tlvs[0].type != calipso.OPTION_TYPE:
            continue
        raw = fault.faulty[tlvs[0].offset : tlvs[0].end]
        with pytest.raises(calipso.CalipsoValidationError) as caught:
            calipso.validate(raw, [kernel.doi])
        assert caught.value.check is fault.check
        assert kernel.observe(fault.faulty)[0] == "dropped"


def _tlvs(data: bytes) -> list[calipso.Tlv]:
    try:
        return list(calipso.iter_options(data))
    except calipso.HopByHopError:
        return []


# --- random near-valid mutants ----------------------------------------------------------------


@settings(ON_THE_KERNEL, max_examples=300)
@given(data=st.data())
def test_near_valid_mutants_verdicts_equal_the_kernels(kernel: Kernel, data: st.DataObject) -> None:
    mutant = data.draw(mutants(option_bytes(doi=kernel.doi, bad_checksums=False)))
    kernel.compare(header(mutant))


@settings(ON_THE_KERNEL, max_examples=60)
@given(data=st.data())
def test_valid_option_then_mutant_equal_the_kernels(kernel: Kernel, data: st.DataObject) -> None:
    # Every CALIPSO option in the header is checked, wherever it stands.
    mutant = data.draw(mutants(option_bytes(doi=kernel.doi, bad_checksums=False)))
    kernel.compare(header(option(kernel.doi, "s1:c2"), mutant))


# --- the verdicts recorded in the shipped corpus, replayed with the same DOI ----------------


@pytest.fixture(scope="module")
def recorded_doi(kernel: Kernel) -> Iterator[int]:
    # Both numbers are the recording's: a machine that has them configured (a run killed
    # before it removed them) cannot replay it. Under CI=true that is a failure, not a skip.
    number = RECORDED["doi"]
    unknown = number + 1
    need(
        unknown not in list_calipso_dois(),
        f"DOI {unknown}, the recording's unknown DOI, is configured here "
        f"(netlabelctl calipso del doi:{unknown} removes it)",
    )
    try:
        with calipso_doi(calipso.CalipsoDoi(number), scratch=False) as doi:
            yield doi.doi
    except DoiInUse:
        need(
            False,
            f"DOI {number}, the recording's, is configured already "
            f"(netlabelctl calipso del doi:{number} removes it)",
        )


@pytest.mark.parametrize("case", RECORDED["cases"], ids=lambda c: c["name"])
def test_recorded_verdicts(kernel: Kernel, recorded_doi: int, case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["hex"])
    observed = kernel.observe(data)
    assert observed == (case["kind"], case["code"], case["pointer"])
    ours = calipso.verdict(data, [recorded_doi])
    assert observed == (ours.kind.value, ours.code, ours.pointer)


# --- scapy-built packets -------------------------------------------------------------------------


def test_scapy_built_headers_are_accepted(kernel: Kernel) -> None:
    pytest.importorskip("scapy")
    from scapy.layers.inet6 import IPv6ExtHdrHopByHop, RouterAlert

    from calipso.scapy import CALIPSO

    for options in (
        [CALIPSO.from_label("s3:c0,c5", doi=kernel.doi)],
        [RouterAlert(value=0), CALIPSO.from_label("s200:c1.c90", doi=kernel.doi)],
        [CALIPSO.from_label("s0", doi=kernel.doi), RouterAlert(value=0)],
    ):
        built = bytes(IPv6ExtHdrHopByHop(nh=ICMPV6, options=options))
        assert kernel.compare(built).accepted
    bad = CALIPSO.from_label("s3:c0,c5", doi=kernel.doi)
    bad.chksum = 0x1234
    built = bytes(IPv6ExtHdrHopByHop(nh=ICMPV6, options=[bad]))
    assert kernel.compare(built).check is Check.CHECKSUM


# --- random mixed headers ---------------------------------------------------------------------


def _random_tlv(rng: random.Random, doi: int) -> bytes:
    """One TLV of a random header: CALIPSO (often damaged), padding, Router Alert, IOAM,
    Jumbo, or an unknown type of any action."""
    roll = rng.random()
    if roll < 0.35:
        words = rng.choice([0, 0, 1, 2, 3, 61])
        data = bytearray(
            calipso.encode(
                calipso.CalipsoOption(
                    doi,
                    rng.randint(0, 255),
                    rng.randbytes(4 * words),
                    rng.randbytes(rng.choice([0, 0, 0, 1, 3])),
                )
            )
        )
        damage = rng.random()
        if damage < 0.1:
            data[8] ^= 1 << rng.randint(0, 7)
        elif damage < 0.15:
            data[6] = rng.randint(0, 255)
        elif damage < 0.2:
            data[1] = rng.randint(0, 12)
        elif damage < 0.25:
            data[2:6] = rng.randbytes(4)
        return bytes(data)
    if roll < 0.5:
        return bytes(rng.randint(1, 3))  # Pad1s
    if roll < 0.6:
        count = rng.randint(0, 5)
        filler = bytes(count) if rng.random() < 0.9 else rng.randbytes(count)
        return bytes((1, count)) + filler
    if roll < 0.7:
        return bytes((5, rng.choice([2, 2, 2, 0, 3]))) + bytes(2)
    if roll < 0.75:
        count = rng.randint(0, 6)
        return bytes((0x31, count)) + bytes(count)
    if roll < 0.78:
        return bytes((0xC2, 4)) + rng.randbytes(4)
    kind = rng.choice([0x1E, 0x3E, 0x5E, 0x7E, 0x9E, 0xBE, 0xDE, 0xFE, rng.randint(2, 255)])
    count = rng.randint(0, 6)
    return bytes((kind, count)) + rng.randbytes(count)


def test_random_mixed_headers_verdicts_equal_the_kernels(kernel: Kernel) -> None:
    rng = random.Random(20261123)
    kinds: set[VerdictKind] = set()
    for _ in range(600):
        body = b"".join(_random_tlv(rng, kernel.doi) for _ in range(rng.randint(1, 5)))
        if rng.random() < 0.8:
            built = rewrap_header(body, ICMPV6)
        else:  # zero-filled to a multiple of 8: the last TLV may run past the end
            body += bytes(-(len(body) + 2) % 8)
            built = bytes((ICMPV6, (len(body) + 2) // 8 - 1)) + body
        kinds.add(kernel.compare(built).kind)
    # TRUNCATED is for captures cut short; a whole header never gets it.
    assert kinds == set(VerdictKind) - {VerdictKind.TRUNCATED}


@pytest.mark.parametrize(
    ("destination_options", "multicast"),
    [(False, True), (True, False), (True, True)],
    ids=["hop-by-hop to ff02::1", "destination options", "destination options to ff02::1"],
)
def test_destination_options_and_multicast_verdicts_equal_the_kernels(
    kernel: Kernel, destination_options: bool, multicast: bool
) -> None:
    """The same random headers as a destination options header (where the kernel knows no
    option, so CALIPSO is skipped unread) and to a multicast address (where action bits 11 drop
    silently instead of answering)."""
    rng = random.Random(20261205)
    kinds: set[VerdictKind] = set()
    for _ in range(300):
        body = b"".join(_random_tlv(rng, kernel.doi) for _ in range(rng.randint(1, 5)))
        built = rewrap_header(body, ICMPV6)
        ours = calipso.verdict(
            built,
            [kernel.doi],
            destination_options=destination_options,
            multicast_destination=multicast,
        )
        answer = kernel.harness.calipso_verdict(
            built, destination_options=destination_options, multicast=multicast
        )
        assert answer.delivered and answer.verdict is not None, answer
        seen = (answer.verdict.kind, answer.verdict.pointer, answer.verdict.code)
        assert seen == (ours.kind, ours.pointer, ours.code), f"{built.hex()}: we say {ours}"
        kinds.add(ours.kind)
    assert kinds == set(VerdictKind) - {VerdictKind.TRUNCATED}


def test_calipso_in_destination_options_is_not_read(kernel: Kernel) -> None:
    """A CALIPSO option with a bad checksum and an unknown DOI passes in a destination options
    header: the kernel skips the unknown type 0x07 there."""
    bad = bytearray(option(kernel.unknown))
    bad[8] ^= 1
    built = header(bytes(bad))
    assert kernel.observe(built)[0] == "dropped"
    answer = kernel.harness.calipso_verdict(built, destination_options=True)
    assert answer.accepted
    assert calipso.verdict(built, [kernel.doi], destination_options=True).accepted


# --- why the kernel dropped: its drop reason and drop site ------------------------------------


@dataclass(frozen=True)
class Drop:
    """One skb:kfree_skb event: the drop site (function+offset) and the drop reason."""

    location: str
    reason: str

    @property
    def function(self) -> str:
        return self.location.split("+", 1)[0]


@contextmanager
def recorded_drops(directory: Path) -> Iterator[list[Drop]]:
    """Record the skb:kfree_skb tracepoint for this process while the block runs.

    The veth transmit runs B's receive path in this process's context (docs/kernel.md), so
    B's drops of our packets are this process's events. perf starts with the event disabled
    and acknowledges "enable" once recording, so no early drop is missed. The list is filled
    when the block ends, in the order of the drops, IPv6 receive-path sites only.
    """
    perf = need_program("perf")
    data = directory / "drops.data"
    ctl_read, ctl_write = os.pipe()
    ack_read, ack_write = os.pipe()
    # -B -N: no build-id collection and no ~/.debug cache; only the tracepoint is wanted.
    command = [perf, "record", "-q", "-B", "-N", "-D", "-1"]
    command += ["--control", f"fd:{ctl_read},{ack_write}"]
    command += ["-e", "skb:kfree_skb", "-p", str(os.getpid()), "-o", str(data)]
    process = subprocess.Popen(
        command, pass_fds=(ctl_read, ack_write), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    os.close(ctl_read)
    os.close(ack_write)
    drops: list[Drop] = []
    try:
        os.write(ctl_write, b"enable\n")
        ready, _, _ = select.select([ack_read], [], [], 10)
        need(bool(ready) and os.read(ack_read, 16).startswith(b"ack"), "perf cannot record")
        yield drops
        os.write(ctl_write, b"disable\n")
        os.read(ack_read, 16)
        os.write(ctl_write, b"stop\n")
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(ctl_write)
        os.close(ack_read)
    script = subprocess.run(
        [perf, "script", "-i", str(data), "-F", "trace"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    for location, reason in re.findall(r"location=(\S+) reason: (\S+)", script):
        if location.startswith(("ip6_", "ipv6_", "icmpv6_")):
            drops.append(Drop(location, reason))


def our_reason_class(verdict: calipso.Verdict) -> str:
    """What our verdict blames: a CALIPSO check, an unknown option type, or the TLV framing
    or another known option (the reason text without its numbers)."""
    if verdict.check is not None:
        return "calipso"
    reason = verdict.reason or ""
    if reason.startswith("unknown option type"):
        return f"unknown option, {verdict.kind}"
    return re.sub(r"0x[0-9a-f]+|\d+", "N", reason)


def test_drop_reasons_and_sites_match_our_reason_classes(kernel: Kernel, tmp_path: Path) -> None:
    """Each drop's kernel reason and site against the class our verdict names.

    CALIPSO failures are dropped with reason IP_INHDR in ipv6_hop_calipso (inlined into
    ip6_parse_tlv on Linux 6.18), all four checks at one site; unknown option types with
    UNHANDLED_PROTO in ip6_tlvopt_unknown. Every class of ours must map to exactly one kernel
    drop site.
    """
    rng = random.Random(5)
    headers = [fault.faulty for fault in faults(kernel.doi, kernel.unknown)]
    for _ in range(500):
        body = b"".join(_random_tlv(rng, kernel.doi) for _ in range(rng.randint(1, 5)))
        headers.append(rewrap_header(body, ICMPV6))
    expected: list[tuple[bytes, str]] = []
    with recorded_drops(tmp_path) as drops:
        for built in headers:
            verdict = kernel.compare(built)
            if not verdict.accepted:
                expected.append((built, our_reason_class(verdict)))
    assert len(drops) == len(expected)
    sites: dict[str, set[str]] = {}
    for drop, (built, blamed) in zip(drops, expected, strict=True):
        sites.setdefault(blamed, set()).add(drop.location)
        if blamed == "calipso":
            assert drop.reason == "IP_INHDR", built.hex()
            assert drop.function in ("ip6_parse_tlv", "ipv6_hop_calipso"), drop
        elif blamed.startswith("unknown option"):
            assert (drop.reason, drop.function) == ("UNHANDLED_PROTO", "ip6_tlvopt_unknown")
        else:
            assert drop.reason == "IP_INHDR", (built.hex(), blamed, drop)
    assert {"calipso", "unknown option, dropped", "unknown option, parameter-problem"} <= set(sites)
    for blamed, locations in sites.items():
        assert len(locations) == 1, f"{blamed}: dropped at {sorted(locations)}"
    # The silent and the answered unknown-option drops happen at different sites.
    assert sites["unknown option, dropped"] != sites["unknown option, parameter-problem"]


def test_command_line_verdicts_are_the_kernels(
    kernel: Kernel, capsys: pytest.CaptureFixture[str]
) -> None:
    """python -m calipso decode --doi: exit status 0 exactly when the kernel accepts."""
    from calipso.__main__ import main

    for fault in faults(kernel.doi, kernel.unknown):
        for built in (fault.faulty, fault.repaired):
            kind = kernel.observe(built)[0]
            status = main(["decode", built.hex(), "--as", "hbh", "--doi", str(kernel.doi)])
            out = capsys.readouterr().out
            assert status == (0 if kind == "accepted" else 1), (fault.name, out)
            last = out.splitlines()[-1]
            assert last.startswith(f"kernel    {kind}")
            if kind == "parameter-problem":
                assert "ICMPv6 Parameter Problem code 2" in last
            elif kind == "dropped":
                assert "silently (no ICMPv6 error)" in last


def test_two_options_under_two_configured_dois(kernel: Kernel) -> None:
    """The kernel checks each CALIPSO option against every DOI it knows: two options under two
    configured DOIs pass, and the label is the first one's."""
    with calipso_doi() as configured:
        second = configured.doi
        data = header(option(kernel.doi, "s3:c1"), option(second, "s5:c7"))
        assert kernel.observe(data) == ("accepted", None, None)
        assert calipso.verdict(data, [kernel.doi, second]).accepted
        assert kernel.model.decode_header(data, dois=[second]) == Level.parse("s3:c1")
    # Without the second DOI the same header is dropped, as decode_header without it says.
    assert kernel.observe(data) == ("dropped", None, None)
    with pytest.raises(calipso.CalipsoValidationError):
        kernel.model.decode_header(data)
