"""Our validator's verdicts against the live kernel's (cipso.md §4, kernel-testing.md).

Every packet is an ICMP echo request sent over veth between the harness's namespaces: the
kernel accepts it (echo reply) or sends a Parameter Problem whose pointer must be the one
:func:`cipso.verdict` predicts for the same options area. The vectors of the shipped corpus
are sent with their DOI numbers replaced by scratch DOIs configured for this module.
"""

from __future__ import annotations

import errno
import importlib.util
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cipso
from cipso.strategies import labels, mutants
from cipso.strategies import options as option_strategy
from labelnet.conformance._dois import renumber_cipso_area
from mls import Level
from netlabel.harness import (
    SCRATCH_DOI_BASE,
    KernelHarness,
    cipso_doi,
    list_cipso_dois,
    netlabel_lock,
)
from tests.cipso import corpus
from tests.support import need, need_kernel_harness, need_program

pytestmark = pytest.mark.kernel


VECTORS = corpus.VECTORS

#: DOIs configured for this module, by name; the vectors' DOIs keep their names from
#: the shipped corpus. Numbers are replaced by scratch numbers when configured.
DOI_TEXTS: dict[str, str] = {
    **VECTORS["dois"],
    "enum_first": "pass doi:1 tags:2,5,1",
    "range_first": "pass doi:2 tags:5,1",
    "bitmap_only": "pass doi:3 tags:1",
    "trans_rich": (
        "trans doi:4 tags:1 levels:0=0,1=3,2=7,5=200,9=1 "
        "categories:0=10,1=0,2=239,3=100,7=7,9=50,11=2"
    ),
}

STRICTVALID = "/proc/sys/net/ipv4/cipso_rbm_strictvalid"
IP_OPTIONS = 4  # IPPROTO_IP level option number (not in Python's socket module everywhere)


# --- set-up -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kernel:
    """The harness, the DOIs configured in the kernel (as our model) and the renumbering."""

    harness: KernelHarness
    by_name: dict[str, cipso.CipsoDoi]
    renumber: dict[int, int]  # corpus DOI number -> configured number
    unknown: int  # a DOI number that is configured nowhere

    @property
    def dois(self) -> list[cipso.CipsoDoi]:
        return list(self.by_name.values())

    def doi_number(self, number: int) -> int:
        if number == 0:
            return 0
        return self.renumber.get(number, self.unknown)

    def rewrite(self, area: bytes) -> bytes:
        """``area`` with the DOI of every CIPSO option (up to EOL) renumbered."""
        return renumber_cipso_area(area, self.doi_number)

    def verdict(self, area: bytes) -> tuple[str, int | None]:
        """What B's kernel did with a packet carrying ``area``: kind and pointer."""
        answer = self.harness.cipso_verdict(area)
        assert answer.delivered, "B did not receive the packet as sent"
        verdict = answer.verdict
        kinds = (cipso.VerdictKind.ACCEPTED, cipso.VerdictKind.PARAMETER_PROBLEM)
        assert verdict is not None and verdict.kind in kinds, answer
        if verdict.kind is cipso.VerdictKind.PARAMETER_PROBLEM:
            assert (answer.icmp_type, verdict.code) == (12, 0)
            assert verdict.pointer is not None, answer
        return str(verdict.kind), verdict.pointer

    def predicted(
        self, area: bytes, *, strict_bitmap: bool = True, dois: Sequence[cipso.CipsoDoi] = ()
    ) -> tuple[str, int | None]:
        verdict = cipso.verdict(area, dois or self.dois, strict_bitmap=strict_bitmap)
        return ("accepted", None) if verdict.accepted else ("parameter-problem", verdict.pointer)


@pytest.fixture(scope="module")
def kernel(kernel_harness: KernelHarness) -> Iterator[Kernel]:
    with ExitStack() as stack:
        by_name: dict[str, cipso.CipsoDoi] = {}
        renumber: dict[int, int] = {}
        for name, text in DOI_TEXTS.items():
            model = cipso.CipsoDoi.from_netlabelctl(text)
            configured = stack.enter_context(cipso_doi(model))
            renumber[model.doi] = configured.doi
            by_name[name] = configured
        taken = list_cipso_dois()
        unknown = SCRATCH_DOI_BASE - 1
        while unknown in taken:
            unknown -= 1
        yield Kernel(kernel_harness, by_name, renumber, unknown)


def _on_wire(vector: dict[str, Any]) -> bool:
    # Vectors for loopback (tag 128 accepted) cannot be sent over veth; those for
    # cipso_rbm_strictvalid=0 are sent by test_strictvalid_off.
    return not vector.get("loopback") and vector.get("strict_bitmap", True)


WIRE_VECTORS = [v for v in VECTORS["options"] if _on_wire(v)]


# --- the shipped corpus (cipso.vectors()) ------------------------------------------------


@pytest.mark.parametrize("vector", WIRE_VECTORS, ids=lambda v: v["name"])
def test_vector_option(kernel: Kernel, vector: dict[str, Any]) -> None:
    data = kernel.rewrite(bytes.fromhex(vector["hex"]))
    area = cipso.build_options(data)
    observed = kernel.verdict(area)
    assert observed == kernel.predicted(area)
    if len(data) == data[1]:
        # The option is exactly its length byte long, so the EOL padding lies outside it and
        # the vector's offset is the kernel's.
        if vector["offset"] is None:
            assert observed == ("accepted", None)
        else:
            assert observed == ("parameter-problem", 20 + vector["offset"])


@pytest.mark.parametrize("vector", VECTORS["areas"], ids=lambda v: v["name"])
def test_vector_area(kernel: Kernel, vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["hex"])
    area = kernel.rewrite(raw + bytes(-len(raw) % 4))
    observed = kernel.verdict(area)
    assert observed == kernel.predicted(area)
    expected = ("accepted", None) if vector["pointer"] is None else ("parameter-problem",)
    assert observed[: len(expected)] == expected
    if vector["pointer"] is not None and len(raw) % 4 == 0:
        assert observed[1] == vector["pointer"]


# --- every rejection class of cipso.md §4, with our own DOIs -----------------------------------


def _option(doi: int, tags_hex: str) -> bytes:
    tags = bytes.fromhex(tags_hex)
    return bytes([0x86, 6 + len(tags)]) + doi.to_bytes(4, "big") + tags


#: (name, DOI name or None for the unknown DOI, tags in hex, extra options after CIPSO in hex,
#: expected pointer or None for accepted). The pointer is counted from the IPv4 header.
CLASSES: list[tuple[str, str | None, str, str, str, int | None]] = [
    ("valid tag 1", "pass100", "", "0105000384", "", None),
    ("L < 8", "pass100", "", "01", "", 21),
    ("unknown DOI", None, "", "01040003", "", 22),
    ("tag 2 not in the DOI's list", "bitmap_only", "", "020600030005", "", 26),
    ("tag 5 not in a TRANS DOI's list", "trans_rich", "", "05060003000c", "", 26),
    ("o + 1 == L", "pass100", "", "0104000301", "", 30),
    ("tag length past L", "pass100", "", "0106000384", "", 27),
    ("tag 1 length 3", "pass100", "", "010300", "", 27),
    ("tag 2 length 2", "pass100", "", "0202", "", 27),
    ("tag 5 length 3", "pass100", "", "050300", "", 27),
    ("TRANS level 4 not mapped", "trans_rich", "", "01040004", "", 29),
    ("TRANS level 255 beyond the table", "trans_rich", "", "010400ff", "", 29),
    ("TRANS wire category 1 not mapped", "trans_rich", "", "0105000340", "", 30),
    (
        "TRANS wire category 238 not mapped, 239 is",
        "trans_rich",
        "",
        "01220003" + "00" * 29 + "03",
        "",
        30,
    ),
    (
        "TRANS mapped level and categories",
        "trans_rich",
        "",
        "01220003a0" + "00" * 28 + "01",
        "",
        None,
    ),
    ("tag 2 not ascending", "pass100", "", "0208000300050004", "", 30),
    ("tag 2 repeated category", "pass100", "", "0208000300050005", "", 30),
    ("tag 2 odd data length", "pass100", "", "020700030005ff", "", 30),
    ("tag 2 65535 accepted", "pass100", "", "02080003fffeffff", "", None),
    ("tag 5 not descending", "pass100", "", "050c000300030001000c0005", "", 30),
    ("tag 5 odd data length", "pass100", "", "05070003000c00", "", 30),
    ("tag 5 touching ranges accepted", "pass100", "", "050c0003000c000500050003", "", None),
    ("tag 5 omitted low accepted", "pass100", "", "050a0003000c000a0003", "", None),
    (
        "tag 5 high above the previous range's low",
        "pass100",
        "",
        "050a0003000500000007",
        "",
        30,
    ),
    ("tag 128 over veth (LOCAL DOI)", "local5", "", "800601000000", "", 26),
    ("tag 6 in no list", "pass100", "", "06040003", "", 26),
    ("tag 7 in no list", "pass100", "", "0704aabb", "", 26),
    ("type-0 tag", "pass100", "", "00040003", "", 26),
    ("type-0 tag of length 0", "pass100", "", "0000", "", 26),
    ("type-0 tag, DOI with 5 tags", "pass7full", "", "00040003", "", 26),
    ("repeated valid tags", "pass100", "", "0104000302060003000505060003000201040007", "", None),
    ("second tag 2 not ascending", "pass100", "", "010400030208000300050004", "", 34),
    ("second tag of type 6", "pass100", "", "0104000306040003", "", 30),
    ("second CIPSO option", "pass100", "", "01040003", "860a{doi}01040003", 30),
    ("NOP and EOL after CIPSO", "pass100", "", "01040003", "0100", None),
    ("router alert after CIPSO", "pass100", "", "01040003", "94040000", None),
    ("unknown option 0xfe after CIPSO is ignored", "pass100", "", "01040003", "fe020000", None),
    ("option with length 1 after CIPSO", "pass100", "", "01040003", "fe01", 30),
    ("option past the area after CIPSO", "pass100", "", "01040003", "fe09", 30),
    ("CIPSO after record route", "pass100", "07070400000000", "01040003", "", None),
]


@pytest.mark.parametrize("case", CLASSES, ids=lambda c: c[0])
def test_rejection_class(
    kernel: Kernel, case: tuple[str, str | None, str, str, str, int | None]
) -> None:
    pointer = case[-1]
    area = _class_area(kernel, case)
    observed = kernel.verdict(area)
    expected = ("accepted", None) if pointer is None else ("parameter-problem", pointer)
    assert observed == expected
    assert kernel.predicted(area) == expected


def _class_area(kernel: Kernel, case: tuple[str, str | None, str, str, str, int | None]) -> bytes:
    name, doi_name, before_hex, tags_hex, after_hex, _ = case
    doi = kernel.unknown if doi_name is None else kernel.by_name[doi_name].doi
    before = bytes.fromhex(before_hex)
    after = bytes.fromhex(after_hex.replace("{doi}", f"{doi:08x}"))
    area = before + _option(doi, tags_hex) + after
    assert len(area) <= 40, f"case {name!r} does not fit the options area"
    return area + bytes(-len(area) % 4)


# --- labels the kernel sends are accepted, and read back ----------------------------------------

LABEL_DOIS = ["pass100", "enum_first", "range_first", "bitmap_only", "trans_rich", "pass16"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_encoded_labels_accepted(kernel: Kernel, data: st.DataObject) -> None:
    doi = kernel.by_name[data.draw(st.sampled_from(LABEL_DOIS), label="doi")]
    level = data.draw(labels(doi), label="level")
    optimized = data.draw(st.booleans(), label="optimized_bitmap")
    try:
        option = doi.encode_label(level, optimized_bitmap=optimized)
    except cipso.CipsoLabelError:
        return  # no tag of this DOI can carry the label (e.g. too many categories)
    area = cipso.build_options(option)
    result = kernel.harness.cipso_verdict(area)
    assert result.accepted, (option.hex(), result)
    assert result.delivered
    assert result.echoed_cipso == option
    if doi.map_type is cipso.MapType.PASS or _one_to_one(doi):
        assert doi.decode_label(option) == level


def _one_to_one(doi: cipso.CipsoDoi) -> bool:
    levels = [wire for _, wire in doi.levels]
    categories = [wire for _, wire in doi.categories]
    return len(set(levels)) == len(levels) and len(set(categories)) == len(categories)


def test_every_tag_type_is_sent(kernel: Kernel) -> None:
    """test_encoded_labels_accepted sends tags 1, 2 and 5: each is the first choice of a DOI."""
    chosen = {
        name: cipso.decode(kernel.by_name[name].encode_label(Level.parse("s1:c1"))).tags[0].tag_type
        for name in ("pass100", "enum_first", "range_first", "trans_rich")
    }
    assert chosen == {"pass100": 1, "enum_first": 2, "range_first": 5, "trans_rich": 1}


# --- near-valid mutants: our verdict and pointer against the kernel's ---------------------------


def _valid_options(kernel: Kernel) -> st.SearchStrategy[bytes]:
    dois = [kernel.by_name[name] for name in LABEL_DOIS]

    def encoded(doi: cipso.CipsoDoi) -> st.SearchStrategy[bytes]:
        return labels(doi).map(lambda level: _encode_or_empty(doi, level))

    configured = st.sampled_from([d.doi for d in kernel.dois])
    by_model = option_strategy(doi=configured).map(cipso.encode)
    return st.one_of(st.sampled_from(dois).flatmap(encoded), by_model)


def _encode_or_empty(doi: cipso.CipsoDoi, level: Level) -> bytes:
    try:
        return doi.encode_label(level)
    except cipso.CipsoLabelError:
        return b""


def _area(data: bytes) -> bytes:
    data = data[:40]
    return data + bytes(-len(data) % 4)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutants_match_the_kernel(kernel: Kernel, data: st.DataObject) -> None:
    mutant = data.draw(mutants(_valid_options(kernel)), label="mutant")
    area = _area(mutant)
    assert kernel.verdict(area) == kernel.predicted(area), area.hex()


# --- loopback: tag 128 ---------------------------------------------------------------------------


class Loopback:
    """B's verdicts on packets it sends to itself (127.0.0.1), which arrive on ``lo``: the
    only device where tag 128 is accepted (:meth:`KernelHarness.cipso_loopback_verdict`)."""

    def __init__(self, harness: KernelHarness) -> None:
        self.harness = harness

    def verdict(self, area: bytes) -> tuple[str, int | None]:
        answer = self.harness.cipso_loopback_verdict(area)
        if answer.verdict is None:
            return ("no-answer", None)
        return (str(answer.verdict.kind), answer.verdict.pointer)


@pytest.fixture(scope="module")
def loopback(kernel: Kernel) -> Loopback:
    return Loopback(kernel.harness)


LOOPBACK_VECTORS = [v for v in VECTORS["options"] if v.get("strict_bitmap", True)]


@pytest.mark.parametrize("vector", LOOPBACK_VECTORS, ids=lambda v: v["name"])
def test_vector_on_loopback(kernel: Kernel, loopback: Loopback, vector: dict[str, Any]) -> None:
    data = kernel.rewrite(bytes.fromhex(vector["hex"]))
    area = cipso.build_options(data)
    observed = loopback.verdict(area)
    verdict = cipso.verdict(area, kernel.dois, loopback=True)
    assert observed == (
        ("accepted", None) if verdict.accepted else ("parameter-problem", verdict.pointer)
    )
    if vector.get("loopback") and len(data) == data[1]:
        expected = vector["offset"]
        assert observed[1] == (None if expected is None else 20 + expected)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_local_tag_mutants_on_loopback(
    kernel: Kernel, loopback: Loopback, data: st.DataObject
) -> None:
    local = kernel.by_name["local5"].doi
    valid = st.one_of(
        st.integers(0, 0xFFFFFFFF).map(
            lambda secid: cipso.encode(cipso.CipsoOption(local, (cipso.LocalTag(secid),)))
        ),
        _valid_options(kernel),
    )
    area = _area(data.draw(mutants(valid), label="mutant"))
    verdict = cipso.verdict(area, kernel.dois, loopback=True)
    predicted = ("accepted", None) if verdict.accepted else ("parameter-problem", verdict.pointer)
    assert loopback.verdict(area) == predicted, area.hex()


# --- net.ipv4.cipso_rbm_strictvalid=0 -----------------------------------------------------------


def test_strictvalid_is_global_to_the_initial_namespace(kernel: Kernel) -> None:
    """The sysctl lives only in the initial namespace (the ipv4 table with the cipso entries
    is registered for init_net alone) and governs every namespace's receive path."""
    from netlabel import _netns

    assert Path(STRICTVALID).exists()
    out = _netns.run(
        ["ip", "netns", "exec", kernel.harness.ns_b, "sh", "-c", f"test -e {STRICTVALID}; echo $?"]
    )
    assert out.strip() == "1"


def _verdicts_with_strictvalid_off(
    kernel: Kernel, areas: list[bytes]
) -> list[tuple[str, int | None]]:
    """The kernel's verdicts on ``areas`` with cipso_rbm_strictvalid=0, the setting put back
    as it was afterwards (under the NetLabel lock: the sysctl is global)."""
    with netlabel_lock():
        before = Path(STRICTVALID).read_text().strip()
        try:
            Path(STRICTVALID).write_text("0\n")
            return [kernel.verdict(area) for area in areas]
        finally:
            Path(STRICTVALID).write_text(before + "\n")


STRICTVALID_CASES = [
    v for v in VECTORS["options"] if v.get("strict_bitmap") is False and not v.get("loopback")
] + [
    {"name": "TRANS level 4 not mapped", "doi": "trans_rich", "tags": "01040004"},
    {"name": "TRANS category not mapped", "doi": "trans_rich", "tags": "0105000340"},
    {
        "name": "LOCAL DOI with tag 1 is still refused at the list",
        "doi": "local5",
        "tags": "01040003",
    },
    {"name": "tag 1 length 3 is still refused", "doi": "trans_rich", "tags": "010300"},
]


def test_strictvalid_off(kernel: Kernel) -> None:
    areas = []
    for case in STRICTVALID_CASES:
        if "hex" in case:
            areas.append(cipso.build_options(kernel.rewrite(bytes.fromhex(case["hex"]))))
        else:
            doi = kernel.by_name[case["doi"]].doi
            areas.append(cipso.build_options(_option(doi, case["tags"])))
    loose = _verdicts_with_strictvalid_off(kernel, areas)
    strict = [kernel.verdict(area) for area in areas]
    assert loose == [kernel.predicted(a, strict_bitmap=False) for a in areas]
    assert strict == [kernel.predicted(a, strict_bitmap=True) for a in areas]
    # The first two vectors and the TRANS cases are rejected when strict, accepted when not.
    assert [v[0] for v in loose[:4]] == ["accepted"] * 4
    assert [v[0] for v in strict[:4]] == ["parameter-problem"] * 4
    # A tag 1 shorter than 4, and tag 1 under a LOCAL DOI, are rejected either way.
    assert loose[4:] == strict[4:] == [("parameter-problem", 26), ("parameter-problem", 27)]


# --- setsockopt(IP_OPTIONS) runs the same validator ---------------------------------------------


def _setsockopt_accepts(area: bytes) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.setsockopt(socket.IPPROTO_IP, IP_OPTIONS, area)
        except OSError as exc:
            assert exc.errno == errno.EINVAL, exc
            return False
        # Accepted options are kept unchanged.
        assert sock.getsockopt(socket.IPPROTO_IP, IP_OPTIONS, 40) == area
        return True


def test_setsockopt_agrees_with_the_wire(kernel: Kernel) -> None:
    areas = [cipso.build_options(kernel.rewrite(bytes.fromhex(v["hex"]))) for v in WIRE_VECTORS]
    areas += [_class_area(kernel, case) for case in CLASSES]
    disagreements = []
    for area in areas:
        wire = kernel.verdict(area)[0] == "accepted"
        if _setsockopt_accepts(area) != wire:
            disagreements.append(area.hex())
    assert disagreements == []


def test_setsockopt_refuses_tag_128(kernel: Kernel, loopback: Loopback) -> None:
    """The one difference between setsockopt and the wire (kernel-testing.md): tag 128 has no
    skb, hence no loopback device, so setsockopt refuses what lo accepts."""
    local = kernel.by_name["local5"].doi
    area = cipso.build_options(cipso.encode(cipso.CipsoOption(local, (cipso.LocalTag(7),))))
    assert loopback.verdict(area) == ("accepted", None)
    assert kernel.verdict(area) == ("parameter-problem", 26)
    assert not _setsockopt_accepts(area)


# --- a LOCAL DOI that also lists tag 1 (only netlink can define one) ---------------------------


@pytest.fixture
def local_with_bitmap(kernel: Kernel) -> Iterator[cipso.CipsoDoi]:
    """``netlabelctl cipso add local`` always lists tag 128 alone, but the kernel lets any DOI
    list tag 1; the NetLabel client sends such a tag list."""
    need(importlib.util.find_spec("pyroute2") is not None, "needs pyroute2 (NetLabel client)")
    from netlabel.client import NetLabel

    with netlabel_lock():
        taken = list_cipso_dois()
        number = kernel.unknown - 1
        while number in taken:
            number -= 1
        doi = cipso.CipsoDoi(number, cipso.MapType.LOCAL, (128, 1))  # type: ignore[arg-type]
        with NetLabel() as client:
            client.add_cipso_doi(doi)
            try:
                assert client.get_cipso_doi(number) == doi
                yield doi
            finally:
                client.remove_cipso_doi(number)


def test_local_doi_with_tag_1(
    kernel: Kernel, loopback: Loopback, local_with_bitmap: cipso.CipsoDoi
) -> None:
    """A LOCAL DOI maps no level: tag 1 is refused at its level byte (29) when strict, on veth
    and loopback alike, and accepted with cipso_rbm_strictvalid=0."""
    doi = local_with_bitmap
    dois = [*kernel.dois, doi]
    areas = [cipso.build_options(_option(doi.doi, tags)) for tags in ("01040003", "0105000384")]
    for area in areas:
        assert kernel.verdict(area) == ("parameter-problem", 29)
        assert loopback.verdict(area) == ("parameter-problem", 29)
        assert kernel.predicted(area, dois=dois) == ("parameter-problem", 29)
    tag128 = cipso.build_options(_option(doi.doi, "800601000000"))
    assert loopback.verdict(tag128) == ("accepted", None)
    loose = _verdicts_with_strictvalid_off(kernel, areas)
    assert loose == [("accepted", None)] * 2
    assert [kernel.predicted(a, dois=dois, strict_bitmap=False) for a in areas] == loose


def test_trans_tables_limited_by_allocation() -> None:
    """The kernel sizes a TRANS DOI's host-side tables by the largest host number + 1, in u32s,
    with one kcalloc: beyond 2**20 - 1 (4 MiB, the largest kmalloc with 4 KiB pages) adding
    the DOI fails with ENOMEM, although CIPSO_V4_MAX_LOC_LVLS / _CATS allow 2**31 - 2.
    CipsoDoi refuses what the kernel cannot store."""
    need_kernel_harness()
    for host in (1048575, 1048576):
        for levels, categories in (({host: 1}, None), ({0: 0}, {host: 1})):
            model = partial(
                cipso.CipsoDoi,
                9,
                cipso.MapType.TRANS,
                (cipso.TagType.RESTRICTED_BITMAP,),
                tuple(levels.items()),
                tuple((categories or {}).items()),
            )
            if host < 1 << 20:
                with cipso_doi(model()):
                    pass
                continue
            with pytest.raises(cipso.CipsoDoiError, match=r"0\.\.1048575"):
                model()
            # The model refuses to build it; netlabelctl sends it, and the kernel refuses it.
            _kernel_refuses_with_enomem(levels, categories or {0: 0})


def _kernel_refuses_with_enomem(levels: dict[int, int], categories: dict[int, int]) -> None:
    need_program("netlabelctl")
    pairs = {
        "levels": ",".join(f"{k}={v}" for k, v in levels.items()),
        "categories": ",".join(f"{k}={v}" for k, v in categories.items()),
    }
    with netlabel_lock():
        number = SCRATCH_DOI_BASE + 777
        while number in list_cipso_dois():
            number += 1
        words = [f"{key}:{value}" for key, value in pairs.items()]
        run = subprocess.run(
            ["netlabelctl", "cipso", "add", "trans", f"doi:{number}", "tags:1", *words],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode == 0:
            subprocess.run(["netlabelctl", "cipso", "del", f"doi:{number}"], check=False)
    assert run.returncode != 0 and "out of memory" in run.stderr, run.stderr
