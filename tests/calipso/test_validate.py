"""Receive-side checks: validate() on one option, calipso.verdict() on a header
(calipso.md §3, ip6_parse_tlv and ipv6_hop_calipso in net/ipv6/exthdrs.c)."""

from __future__ import annotations

import pytest

import calipso
from calipso import (
    CalipsoDoi,
    CalipsoOption,
    CalipsoValidationError,
    Check,
    VerdictKind,
    build_header,
    encode,
    validate,
)
from calipso.hopbyhop import pad
from mls import Level
from tests.calipso import corpus
from tests.calipso.corpus import DOI
from tests.calipso.corpus import WORKED_EXAMPLE as GOOD

OPTIONS = corpus.VECTORS["options"]


@pytest.mark.parametrize("vector", OPTIONS, ids=[v["name"] for v in OPTIONS])
def test_vectors(vector: dict[str, object]) -> None:
    data = bytes.fromhex(str(vector["hex"]))
    if vector["kernel_with_doi_2"] == "accepted":
        validate(data, [DOI])
        return
    with pytest.raises(CalipsoValidationError) as caught:
        validate(data, [DOI])
    assert str(caught.value.check) == vector["kernel_with_doi_2"]
    assert caught.value.offset == vector["kernel_offset"]


@pytest.mark.parametrize(
    "dois", [[DOI], [2], {2: DOI}, (d for d in [CalipsoDoi(9), DOI]), frozenset({2, 3})]
)
def test_dois_in_any_shape(dois: object) -> None:
    validate(GOOD, dois)  # type: ignore[arg-type]


def test_unknown_doi() -> None:
    with pytest.raises(CalipsoValidationError) as caught:
        validate(GOOD, [3])
    assert caught.value.check is Check.UNKNOWN_DOI
    assert caught.value.offset == 2
    with pytest.raises(CalipsoValidationError):
        validate(GOOD, [])


def test_validate_an_option_object() -> None:
    validate(DOI.label_option(Level.parse("s3:c0,c5")), [2])
    with pytest.raises(CalipsoValidationError) as caught:
        validate(CalipsoOption(2, 3, bad_checksum=0), [2])
    assert caught.value.check is Check.CHECKSUM


def test_checks_run_in_the_kernels_order() -> None:
    # Short data, a bad checksum and an unknown DOI at once: the length check wins.
    with pytest.raises(CalipsoValidationError) as caught:
        validate(bytes.fromhex("070700000009000000"), [2])
    assert caught.value.check is Check.DATA_LENGTH
    # Overrunning compartment length, a bad checksum and an unknown DOI: cmpt length wins.
    with pytest.raises(CalipsoValidationError) as caught:
        validate(bytes.fromhex("0708000000090500ffff"), [2])
    assert caught.value.check is Check.COMPARTMENT_LENGTH
    # A bad checksum and an unknown DOI: the checksum wins.
    with pytest.raises(CalipsoValidationError) as caught:
        validate(bytes.fromhex("0708000000090000ffff"), [2])
    assert caught.value.check is Check.CHECKSUM


def test_level_and_bitmap_are_not_checked() -> None:
    validate(encode(CalipsoOption(2, 255, b"\xff" * 244)), [2])
    validate(encode(CalipsoOption(2, 0, bytes(8))), [2])


def test_extra_data_is_accepted() -> None:
    validate(encode(CalipsoOption(2, 4, b"\x40\0\0\0", b"\xde\xad\xbe")), [2])
    validate(encode(CalipsoOption(2, 4, b"", bytes(247))), [2])


def test_trailing_bytes_after_one_option() -> None:
    with pytest.raises(CalipsoValidationError) as caught:
        validate(GOOD + b"\x00", [2])
    assert caught.value.check is Check.TRAILING_DATA
    assert caught.value.offset == 14


# -- hop-by-hop verdicts --------------------------------------------------------------------


def header(*parts: bytes, first: int = 0) -> bytes:
    body = b"".join(parts)
    size = 2 + len(body)
    assert size % 8 == 0, size
    return bytes((first, size // 8 - 1)) + body


def test_kernel_built_headers_are_accepted() -> None:
    for level in ("s0", "s3:c0,c5", "s15:c0.c1023", "s255:c1951"):
        verdict = calipso.verdict(DOI.encode_header(Level.parse(level)), [DOI])
        assert verdict.accepted, verdict
        assert verdict.kind is VerdictKind.ACCEPTED


@pytest.mark.parametrize(
    ("check", "mutate", "offset"),
    [
        (Check.CHECKSUM, lambda b: b[:10] + bytes((b[10] ^ 1,)) + b[11:], 2 + 8),
        (Check.UNKNOWN_DOI, None, 2 + 2),
    ],
)
def test_calipso_failures_are_silent_drops(check: Check, mutate: object, offset: int) -> None:
    data = DOI.encode_header(Level(3))
    dois = [2]
    if mutate is None:
        dois = [3]
    else:
        data = mutate(data)  # type: ignore[operator]
    verdict = calipso.verdict(data, dois)
    assert verdict.kind is VerdictKind.DROPPED
    assert verdict.dropped
    assert verdict.check is check
    assert verdict.offset == offset
    assert verdict.pointer is None


def test_short_calipso_option_is_dropped_at_its_length_byte() -> None:
    # A CALIPSO TLV of 6 data bytes (below 8), padded to 16.
    data = header(bytes.fromhex("0706000000020000"), pad(6))
    verdict = calipso.verdict(data, [2])
    assert verdict.dropped and verdict.check is Check.DATA_LENGTH and verdict.offset == 3


def test_second_calipso_option_with_bad_checksum_drops() -> None:
    good = DOI.encode_label(Level(3))
    bad = good[:8] + b"\0\0"
    verdict = calipso.verdict(header(good, bad, pad(2)), [2])
    assert verdict.dropped and verdict.check is Check.CHECKSUM and verdict.offset == 12 + 8


def test_second_good_calipso_option_is_accepted() -> None:
    good = DOI.encode_label(Level(3))
    assert calipso.verdict(header(good, good, pad(2)), [2]).accepted


@pytest.mark.parametrize(
    ("kind", "expected", "code"),
    [
        (0x1E, VerdictKind.ACCEPTED, None),  # 00: skip
        (0x5E, VerdictKind.DROPPED, None),  # 01: drop silently
        (0x9E, VerdictKind.PARAMETER_PROBLEM, 2),  # 10: ICMPv6 code 2
        (0xDE, VerdictKind.PARAMETER_PROBLEM, 2),  # 11: ICMPv6 unless multicast
    ],
)
def test_unknown_options_by_action_bits(kind: int, expected: VerdictKind, code: int) -> None:
    calipso_header = build_header(DOI.label_option(Level(3)))  # 16 bytes, PadN(4) at 12
    data = calipso_header[:12] + bytes((kind, 2, 0, 0))
    verdict = calipso.verdict(data, [2])
    assert verdict.kind is expected
    assert verdict.code == code
    if expected is VerdictKind.PARAMETER_PROBLEM:
        assert verdict.offset == 12
        assert verdict.pointer == 52  # counted from the IPv6 header
    if expected is not VerdictKind.ACCEPTED:
        assert verdict.check is None  # nothing against the CALIPSO option before it


def test_action_11_to_a_multicast_destination_is_a_silent_drop() -> None:
    data = build_header(DOI.label_option(Level(3)))[:12] + bytes((0xDE, 2, 0, 0))
    assert calipso.verdict(data, [2], multicast_destination=True).dropped


def test_negative_max_options_disallows_unknown_options() -> None:
    data = build_header(DOI.label_option(Level(3)))[:12] + bytes((0x1E, 2, 0, 0))
    assert calipso.verdict(data, [2]).accepted
    assert calipso.verdict(data, [2], max_options=-8).dropped


def test_unknown_option_before_calipso_decides_first() -> None:
    option = DOI.encode_label(Level(3))
    data = header(bytes((0x9E, 0)), option, pad(2))  # bad DOI would come later
    verdict = calipso.verdict(data, [99])
    assert verdict.kind is VerdictKind.PARAMETER_PROBLEM and verdict.offset == 2


@pytest.mark.parametrize(
    ("body", "offset", "words"),
    [
        (b"\x00" * 8 + bytes(6), 9, "consecutive padding"),  # 8 Pad1
        (pad(7) + b"\x00" + bytes(6), 9, "consecutive padding"),  # PadN(7) then Pad1
        (pad(4) + pad(4) + bytes(6), 6, "consecutive padding"),
        (b"\x01\x04\x00\x00\x00\x01" + bytes(8), 7, "non-zero"),
        (b"\x1e\x0d" + bytes(4), 3, "past the end"),
        (b"\x1e\x02\x00\x00" + b"\x00" + b"\x1e", 7, "no length byte"),
        (b"\x05\x03" + bytes(4), 3, "Router Alert"),
    ],
)
def test_generic_tlv_rules(body: bytes, offset: int, words: str) -> None:
    verdict = calipso.verdict(bytes((0, len(body) // 8)) + body, [2])
    assert verdict.dropped, verdict
    assert verdict.offset == offset
    assert verdict.reason is not None and words in verdict.reason


def test_seven_padding_bytes_are_fine() -> None:
    assert calipso.verdict(bytes(8), []).accepted  # six Pad1
    assert calipso.verdict(bytes((0, 0)) + pad(6), []).accepted
    assert calipso.verdict(bytes((0, 1)) + pad(7) + bytes((0x1E, 5)) + bytes(5), []).accepted


def test_option_count_limit() -> None:
    nine = b"\x1e\x00" * 9 + bytes(4)
    verdict = calipso.verdict(bytes((0, 2)) + nine, [])
    assert verdict.dropped and verdict.offset == 2 + 2 * 8
    assert calipso.verdict(bytes((0, 2)) + nine, [], max_options=9).accepted


def test_ioam_and_jumbo() -> None:
    # IOAM (0x31) at 4n is ignored while IOAM is off; elsewhere dropped.
    assert calipso.verdict(header(b"\x00\x00" + b"\x31\x02\x00\x00"), []).accepted
    assert calipso.verdict(header(b"\x31\x04" + bytes(4)), []).dropped
    # Jumbo Payload: 4 bytes at 4n+2; in an ordinary packet always a Parameter Problem code 0.
    small = calipso.verdict(header(b"\xc2\x04\x00\x00\xff\xff"), [])
    assert small.kind is VerdictKind.PARAMETER_PROBLEM and small.offset == 4 and small.code == 0
    large = calipso.verdict(header(b"\xc2\x04\x00\x01\x00\x00"), [])
    assert large.kind is VerdictKind.PARAMETER_PROBLEM and large.offset == 2
    assert calipso.verdict(header(b"\x00\xc2\x03\x00\x00\x00"), []).dropped


def test_truncated_header() -> None:
    assert calipso.verdict(bytes(4), []).dropped
    assert calipso.verdict(bytes((0, 1)) + bytes(6), []).offset == 1


def test_bytes_after_the_header_are_not_judged() -> None:
    assert calipso.verdict(DOI.encode_header(Level(1)) + b"\xff" * 8, [2]).accepted


# -- verdicts observed on the live kernel ---------------------------------------------------

OBSERVED = corpus.VECTORS["verdicts"]


@pytest.mark.parametrize("case", OBSERVED["cases"], ids=[c["name"] for c in OBSERVED["cases"]])
def test_verdicts_observed_on_linux(case: dict[str, object]) -> None:
    """Headers sent to a Linux 6.18 receiver with DOI ``OBSERVED["doi"]`` configured (the
    kernel's answers are recorded in the shipped corpus); ours must be the same."""
    verdict = calipso.verdict(bytes.fromhex(str(case["hex"])), [OBSERVED["doi"]])
    assert verdict.kind.value == case["kind"]
    assert verdict.pointer == case["pointer"]
    assert verdict.code == case["code"]


def test_multicast_destinations_get_only_code_2_parameter_problems() -> None:
    """Found against the kernel: to a multicast address a Jumbo Payload fault (code 0) is a
    silent drop, as icmp6_send answers only unrecognised options of action 10 there."""
    jumbo = bytes.fromhex("3a00c20433adea55")
    assert calipso.verdict(jumbo, [2]).kind is VerdictKind.PARAMETER_PROBLEM
    dropped = calipso.verdict(jumbo, [2], multicast_destination=True)
    assert dropped.kind is VerdictKind.DROPPED and dropped.pointer is None
    assert "multicast" in dropped.reason
    action_10 = bytes.fromhex("3a009e0400000000")
    kept = calipso.verdict(action_10, [2], multicast_destination=True)
    assert (kept.kind, kept.pointer, kept.code) == (VerdictKind.PARAMETER_PROBLEM, 42, 2)


def test_calipso_in_a_destination_options_header_is_skipped() -> None:
    bad = bytes.fromhex("3a01 07 0a 000000ff 0000 0000 00000000")
    assert calipso.verdict(bad, [2]).dropped
    assert calipso.verdict(bad, [2], destination_options=True).accepted
    # Router Alert is unknown there too: action bits 00, skipped.
    ra = bytes.fromhex("3a00 0503 000000 00")
    assert calipso.verdict(ra, [2]).dropped
    assert calipso.verdict(ra, [2], destination_options=True).accepted
