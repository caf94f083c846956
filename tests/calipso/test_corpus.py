"""The shipped CALIPSO corpus (calipso.vectors()): our decoder, validators and header builder
against every vector, and the live kernel against every recorded verdict."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

import calipso
from labelnet.conformance import _tshark
from labelnet.conformance._dois import (
    Renumbering,
    calipso_doi_number,
    configure_calipso,
    renumber_calipso_header,
)
from mls import Level
from netlabel.harness import KernelHarness, ipv6_echo_request, netlabel_lock
from tests.support import assert_tshark_reads_as_recorded, decode_corpus_option

VECTORS = calipso.vectors()
#: The kernel's verdict on each vector by name: kind, ICMP pointer, ICMP code.
Observed = dict[str, tuple[calipso.VerdictKind, int | None, int | None]]


def _numbers(vector: calipso.CalipsoVector) -> list[int]:
    return [calipso_doi_number(text) for text in vector.dois]


def test_loader_types_and_names() -> None:
    assert VECTORS is calipso.vectors()
    assert len(VECTORS) >= 90
    names = [vector.name for vector in VECTORS]
    assert len(names) == len(set(names))
    for vector in VECTORS:
        assert isinstance(vector, calipso.CalipsoVector)
        assert len(vector.header) % 8 == 0 and vector.header[1] == len(vector.header) // 8 - 1
        assert vector.kernel.kind is not calipso.VerdictKind.TRUNCATED
        assert vector.kernel_recorded


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_decode(vector: calipso.CalipsoVector) -> None:
    option = decode_corpus_option(
        vector, calipso.decode, calipso.encode, calipso.CalipsoDecodeError
    )
    if option is None:
        return
    expected = vector.decoded
    assert expected is not None and vector.option is not None
    assert option.doi == expected.doi
    assert (option.bitmap, option.extra) == (expected.bitmap, expected.extra)
    assert vector.option[8:10] == expected.checksum
    assert (option.bad_checksum is None) == expected.checksum_ok
    assert option.categories == expected.categories
    # The level byte went through the round trip above; the expected level is that byte.
    assert Level(vector.option[7], option.categories) == expected.level
    assert expected.sensitivity == vector.option[7]


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.option], ids=lambda v: v.name)
def test_validate(vector: calipso.CalipsoVector) -> None:
    assert vector.option is not None
    if vector.validate_check is None:
        calipso.validate(vector.option, _numbers(vector))
        return
    with pytest.raises(calipso.CalipsoValidationError) as caught:
        calipso.validate(vector.option, _numbers(vector))
    assert str(caught.value.check) == vector.validate_check
    assert caught.value.offset == vector.validate_offset


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_header_verdict(vector: calipso.CalipsoVector) -> None:
    verdict = calipso.verdict(vector.header, _numbers(vector))
    assert verdict.kind is vector.kernel.kind
    assert verdict.pointer == vector.kernel.pointer
    assert verdict.code == vector.kernel.code
    assert verdict.accepted == vector.kernel.accepted
    assert verdict.dropped == vector.kernel.dropped


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.insertion], ids=lambda v: v.name)
def test_insertion(vector: calipso.CalipsoVector) -> None:
    insertion = vector.insertion
    assert insertion is not None
    (number,) = _numbers(vector)
    header = calipso.CalipsoDoi(number).encode_header(insertion.level, insertion.before)
    assert header == vector.header
    assert calipso.remove_option(header) == insertion.removed


def test_coverage() -> None:
    """Every receive check, both outcomes of the checksum, every drop and Parameter Problem
    class and the kernel's header layouts are in the corpus."""
    checks = {vector.validate_check for vector in VECTORS if vector.option}
    assert {None, "data-length", "compartment-length", "checksum", "unknown-doi"} <= checks
    assert {"not-calipso", "truncated"} <= checks
    verdicts = {str(vector.kernel.kind) for vector in VECTORS}
    assert verdicts == {"accepted", "dropped", "parameter-problem"}
    assert {vector.kernel.code for vector in VECTORS} == {None, 0, 2}
    assert any(v.decoded is not None and not v.decoded.checksum_ok for v in VECTORS)
    assert any(v.decoded is not None and v.decoded.extra for v in VECTORS)
    assert any(v.option is not None and len(v.option) == 254 for v in VECTORS)
    assert sum(vector.insertion is not None for vector in VECTORS) >= 6


# --- the live kernel ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def observed(
    kernel_harness: KernelHarness,
) -> Iterator[Observed]:
    """The kernel's verdict on every vector, DOIs configured under scratch numbers."""
    groups: dict[tuple[str, ...], list[calipso.CalipsoVector]] = {}
    for vector in VECTORS:
        groups.setdefault(vector.dois, []).append(vector)
    found: Observed = {}
    with netlabel_lock():
        for texts, vectors in groups.items():
            with ExitStack() as stack:
                renumber = configure_calipso(stack, [calipso_doi_number(t) for t in texts])
                for vector in vectors:
                    header = renumber_calipso_header(vector.header, renumber)
                    answer = kernel_harness.calipso_verdict(header)
                    assert answer.delivered and answer.verdict is not None, answer
                    verdict = answer.verdict
                    found[vector.name] = (verdict.kind, verdict.pointer, verdict.code)
    yield found


@pytest.mark.kernel
@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_kernel_verdict(
    observed: Observed,
    vector: calipso.CalipsoVector,
) -> None:
    kernel = vector.kernel
    assert observed[vector.name] == (kernel.kind, kernel.pointer, kernel.code)


def test_renumbering_keeps_the_checksum_right_or_wrong() -> None:
    renumber = Renumbering({2: 3_000_002}, 2_999_999)
    good = calipso.CalipsoDoi(2).encode_header(Level.parse("s3"))
    moved = renumber_calipso_header(good, renumber)
    option = calipso.decode(moved[2 : 2 + 2 + moved[3]])
    assert (option.doi, option.bad_checksum) == (3_000_002, None)
    bad = bytearray(good)
    bad[10] ^= 0x40
    moved_bad = renumber_calipso_header(bytes(bad), renumber)
    option = calipso.decode(moved_bad[2 : 2 + 2 + moved_bad[3]])
    assert option.doi == 3_000_002
    assert option.bad_checksum is not None
    assert option.bad_checksum ^ option.correct_checksum == 0x40
    # DOI 0 stays 0; other numbers become one configured nowhere.
    assert renumber(0) == 0 and renumber(3) == 2_999_999


# --- tshark ---------------------------------------------------------------------------------------


def test_tshark_fields_agree_with_the_decode() -> None:
    """tshark's stored reading: our DOI and level, the checksum bytes read big-endian, and the
    compartment bitmap when the option holds all of it."""
    for vector in VECTORS:
        if vector.decoded is None:
            assert not vector.tshark, vector.name
            continue
        shown = dict(vector.tshark)
        decoded = vector.decoded
        assert int(shown["ipv6.opt.calipso.doi"]) == decoded.doi, vector.name
        assert int(shown["ipv6.opt.calipso.sens_level"]) == decoded.sensitivity, vector.name
        checksum = int(shown["ipv6.opt.calipso.checksum"], 16)
        assert checksum == int.from_bytes(decoded.checksum, "big"), vector.name
        # tshark reads compartment length x 4 bytes ("<MISSING>" when none or past the option).
        if decoded.bitmap and int(shown["ipv6.opt.calipso.cmpt.length"]) * 4 == len(decoded.bitmap):
            bitmap = shown.get("ipv6.opt.calipso.cmpt_bitmap", "")
            assert bitmap == decoded.bitmap.hex(), vector.name


@pytest.mark.tshark
def test_tshark_still_reads_the_corpus_so() -> None:
    assert_tshark_reads_as_recorded(
        VECTORS, lambda vector: ipv6_echo_request(vector.header), _tshark.CALIPSO_FIELDS
    )
