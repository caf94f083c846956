"""The shipped CIPSO corpus (cipso.vectors()): our decoder and validators against every vector,
and the live kernel against every recorded verdict."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

import cipso
from cipso.model import OPTION_TYPE
from labelnet.conformance import _tshark
from labelnet.conformance._dois import configure_cipso, renumber_cipso_area
from labelnet.conformance.fuzz import reply_rerouted
from labelnet.conformance.record import strictvalid
from netlabel.harness import KernelHarness, ipv4_echo_request, netlabel_lock
from tests.support import assert_tshark_reads_as_recorded, decode_corpus_option

VECTORS = cipso.vectors()
#: The kernel's verdict on each vector by name: kind, ICMP pointer, ICMP code.
Observed = dict[str, tuple[cipso.VerdictKind, int | None, int | None]]


def _dois(vector: cipso.CipsoVector) -> list[cipso.CipsoDoi]:
    return [cipso.CipsoDoi.from_netlabelctl(text) for text in vector.dois]


def test_loader_types_and_names() -> None:
    assert VECTORS is cipso.vectors()  # read once
    assert len(VECTORS) >= 80
    names = [vector.name for vector in VECTORS]
    assert len(names) == len(set(names))
    for vector in VECTORS:
        assert isinstance(vector, cipso.CipsoVector)
        assert len(vector.area) % 4 == 0 and len(vector.area) <= 40
        assert vector.description
        with pytest.raises(AttributeError):
            vector.name = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_decode(vector: cipso.CipsoVector) -> None:
    option = decode_corpus_option(vector, cipso.decode, cipso.encode, cipso.CipsoDecodeError)
    if option is None:
        return
    expected = vector.decoded
    assert expected is not None
    assert option.doi == expected.doi
    assert len(option.tags) == expected.tag_count
    assert (None if option.tag is None else int(option.tag.tag_type)) == expected.tag_type
    assert option.mls_level == expected.level
    if expected.level is not None:
        assert expected.sensitivity == expected.level.sensitivity
        assert expected.categories == expected.level.categories


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_validate(vector: cipso.CipsoVector) -> None:
    if vector.option is None:
        assert vector.validate_offset is None
        return
    flags = {"strict_bitmap": vector.strict_bitmap, "loopback": vector.loopback}
    if vector.validate_offset is None:
        cipso.validate(vector.option, _dois(vector), **flags)
    else:
        with pytest.raises(cipso.CipsoValidationError) as caught:
            cipso.validate(vector.option, _dois(vector), **flags)
        assert caught.value.offset == vector.validate_offset


def _area_offset(header_offset: int | None) -> int | None:
    """A corpus offset counted from the IPv4 header, counted from the options area instead."""
    return None if header_offset is None else header_offset - 20


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_options_area_verdict(vector: cipso.CipsoVector) -> None:
    verdict = cipso.verdict(
        vector.area,
        _dois(vector),
        strict_bitmap=vector.strict_bitmap,
        loopback=vector.loopback,
    )
    assert verdict.accepted == vector.kernel.accepted
    assert verdict.dropped == vector.kernel.dropped
    if verdict.dropped:
        # No ICMP: the verdict's pointer only says which option (a source route) caused it.
        assert verdict.pointer is None and vector.kernel.pointer is None
        assert verdict.offset is not None and vector.area[verdict.offset] in (131, 137)
    else:
        assert verdict.pointer == vector.kernel.pointer
    assert verdict.option_start == _area_offset(vector.cipso_start)
    if vector.kernel.pointer is not None:
        assert vector.kernel.offset == vector.kernel.pointer - 20


def test_coverage() -> None:
    """Every tag type, every validator check, every DOI mapping type, both sysctl settings,
    loopback, and areas with other options are in the corpus."""
    tag_types = {v.decoded.tag_type for v in VECTORS if v.decoded is not None}
    assert {0, 1, 2, 5, 6, 7, 128} <= tag_types
    names = " ".join(vector.name for vector in VECTORS)
    for check in ("1", "2", "3", "4", "5", "6a", "6b", "6c", "7a", "7c", "8a", "8c", "9a", "9b"):
        assert f"check {check}:" in names
    kinds = {text.split()[0] for vector in VECTORS for text in vector.dois}
    assert kinds == {"pass", "trans", "local"}
    assert any(not vector.strict_bitmap for vector in VECTORS)
    assert any(vector.loopback and vector.kernel.accepted for vector in VECTORS)
    assert any(vector.option is None and vector.kernel.accepted for vector in VECTORS)
    rejected = cipso.VerdictKind.PARAMETER_PROBLEM
    assert sum(vector.kernel.kind is rejected for vector in VECTORS) >= 40
    assert any(vector.kernel.dropped for vector in VECTORS)
    # Padding: options of every length modulo 4, and one that fills the whole area.
    lengths = {
        vector.option[1] % 4 for vector in VECTORS if vector.option and len(vector.option) > 1
    }
    assert lengths == {0, 1, 2, 3}
    assert any(vector.option is not None and len(vector.option) == 40 for vector in VECTORS)
    # Only a Parameter Problem sent along a source route is not recorded from the kernel;
    # loopback vectors (tag 128) are, through the receiver's own loopback device.
    for vector in VECTORS:
        unseen = reply_rerouted(vector.area, len(vector.area))
        assert vector.kernel_recorded != unseen, vector.name
    assert any(v.loopback and v.kernel_recorded for v in VECTORS)


# --- the live kernel ----------------------------------------------------------------------------


def _groups() -> dict[tuple[str, ...], list[cipso.CipsoVector]]:
    groups: dict[tuple[str, ...], list[cipso.CipsoVector]] = {}
    for vector in VECTORS:
        if vector.kernel_recorded:
            groups.setdefault(vector.dois, []).append(vector)
    return groups


@pytest.fixture(scope="module")
def observed(
    kernel_harness: KernelHarness,
) -> Iterator[Observed]:
    """The kernel's verdict on every recorded vector, DOIs configured under scratch numbers."""
    found: Observed = {}
    with netlabel_lock():
        for texts, vectors in _groups().items():
            with ExitStack() as stack:
                definitions = [cipso.CipsoDoi.from_netlabelctl(text) for text in texts]
                renumber = configure_cipso(stack, definitions)
                for vector in vectors:
                    area = renumber_cipso_area(vector.area, renumber)
                    ask = (
                        kernel_harness.cipso_loopback_verdict
                        if vector.loopback
                        else kernel_harness.cipso_verdict
                    )
                    with strictvalid(vector.strict_bitmap):
                        answer = ask(area)
                    assert answer.delivered and answer.verdict is not None, answer
                    verdict = answer.verdict
                    found[vector.name] = (verdict.kind, verdict.pointer, verdict.code)
    yield found


@pytest.mark.kernel
@pytest.mark.parametrize("vector", [v for v in VECTORS if v.kernel_recorded], ids=lambda v: v.name)
def test_kernel_verdict(observed: Observed, vector: cipso.CipsoVector) -> None:
    kernel = vector.kernel
    assert observed[vector.name] == (kernel.kind, kernel.pointer, kernel.code)


def test_renumbering_keeps_everything_but_the_doi() -> None:
    from labelnet.conformance._dois import Renumbering

    renumber = Renumbering({16: 3_000_016}, 2_999_999)
    area = bytes.fromhex("01860a000000100104000300")
    moved = renumber_cipso_area(area, renumber)
    assert moved == bytes.fromhex("01860a002dc6d00104000300")
    # An unknown DOI stays unknown (a number configured nowhere); DOI 0 stays 0.
    assert renumber(17) == 2_999_999 and renumber(0) == 0
    assert renumber_cipso_area(bytes.fromhex("860a00000000010400030000"), renumber)[2:6] == bytes(4)
    # After EOL nothing is rewritten.
    assert renumber_cipso_area(b"\0" + area[1:], renumber) == b"\0" + area[1:]
    assert moved[0] == 1 and moved[1] == OPTION_TYPE


# --- tshark ---------------------------------------------------------------------------------------


def test_tshark_fields_agree_with_the_decode() -> None:
    """tshark's stored reading has our DOI, first tag type and level for every vector it
    decodes (it prints one value per tag, joined with ';')."""
    for vector in VECTORS:
        if vector.decoded is None:
            assert not vector.tshark, vector.name
            continue
        shown = dict(vector.tshark)
        assert shown, vector.name
        assert int(shown["ip.cipso.doi"]) == vector.decoded.doi, vector.name
        if vector.decoded.tag_type in (1, 2, 5):
            first_type = shown["ip.cipso.tag_type"].split(";")[0]
            assert int(first_type) == vector.decoded.tag_type, vector.name
            level = shown["ip.cipso.sensitivity_level"].split(";")[0]
            assert int(level) == vector.decoded.sensitivity, vector.name


@pytest.mark.tshark
def test_tshark_still_reads_the_corpus_so() -> None:
    assert_tshark_reads_as_recorded(
        VECTORS, lambda vector: ipv4_echo_request(vector.area), _tshark.CIPSO_FIELDS
    )
