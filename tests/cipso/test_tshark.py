"""Our decoder against Wireshark's CIPSO dissector (tshark 4.0), all packets in one tshark run.

tshark shows the DOI, every tag's type, the level of tags 1, 2 and 5 and their categories as
text: tag 1 ascending ("0,5"), tag 2 as written, tag 5 as ``high-low`` pairs in wire order
("12-10,3-0"; an omitted low shows as 0, a pair with high == low as one number). It shows no
categories field for a tag without category data, and nothing but the type for tag 128.
"""

from __future__ import annotations

import random

import pytest

import cipso
from mls import CategorySet, Level
from netlabel.harness import ipv4_echo_request
from tests.cipso import corpus
from tests.refs.tshark import CipsoFields, Dissection, dissect
from tests.support import need_program

pytestmark = pytest.mark.tshark

VECTORS = corpus.VECTORS

#: DOIs whose tag choice yields each tag type.
LABEL_DOIS = [
    cipso.CipsoDoi.from_netlabelctl(text)
    for text in (
        "pass doi:16 tags:1",
        "pass doi:100 tags:2,1",
        "pass doi:7 tags:5,1",
        "trans doi:8 tags:1 levels:0=0,1=3,2=200 categories:0=1,1=0,2=239,5=100,9=17",
    )
]


def _random_level(rng: random.Random, doi: cipso.CipsoDoi) -> Level:
    if doi.map_type is cipso.MapType.TRANS:
        local_levels = [local for local, _ in doi.levels]
        local_categories = [local for local, _ in doi.categories]
        chosen = rng.sample(local_categories, rng.randint(0, len(local_categories)))
        return Level(rng.choice(local_levels), CategorySet(chosen))
    tag = doi.tags[0]
    if tag == cipso.TagType.RESTRICTED_BITMAP:
        top = rng.choice([7, 15, 79, 239])
        return Level(
            rng.randint(0, 255),
            CategorySet(rng.sample(range(top + 1), rng.randint(0, min(12, top + 1)))),
        )
    if tag == cipso.TagType.ENUMERATED:
        return Level(rng.randint(0, 255), CategorySet(rng.sample(range(65535), rng.randint(0, 15))))
    bits = 0
    for _ in range(rng.randint(0, 7)):
        low = rng.choice([0, rng.randint(0, 100), rng.randint(0, 65534)])
        high = min(65534, low + rng.choice([0, 1, rng.randint(0, 400)]))
        bits |= ((2 << (high - low)) - 1) << low
    return Level(rng.randint(0, 255), CategorySet.from_int(bits))


#: tshark reads a tag of type 0 as one byte of padding and the next byte as a tag type; the
#: kernel (and cipso.decode) read it as a tag with a length byte. Such options are compared in
#: test_type_zero_tag_differs only.
TYPE_ZERO = 0


def _options() -> list[tuple[str, bytes]]:
    """(name, option) pairs: every well-formed vector, then labels encoded as the kernel does."""
    found: list[tuple[str, bytes]] = []
    for vector in VECTORS["options"]:
        data = bytes.fromhex(vector["hex"])
        if "decode_offset" in vector or vector.get("note"):
            continue
        if any(tag.tag_type == TYPE_ZERO for tag in cipso.decode(data).tags):
            continue
        found.append((vector["name"], data))
    rng = random.Random(20261123)
    while len(found) < 300:
        doi = rng.choice(LABEL_DOIS)
        level = _random_level(rng, doi)
        try:
            option = doi.encode_label(level, optimized_bitmap=rng.random() < 0.2)
        except cipso.CipsoLabelError:
            continue
        found.append((f"{doi.to_netlabelctl()} {level}", option))
    # A few hand-made shapes the kernel never sends but accepts or tshark decodes.
    found += [
        ("two tag-1 tags", bytes.fromhex("860e000000100104000301040005")),
        ("tag 1 with trailing zero bitmap bytes", bytes.fromhex("860d000000100107000384 0000")),
        ("tag 5 with equal bounds", bytes.fromhex("861000000064050a000300050005000c")),
        ("tag 5 with low above high", bytes.fromhex("860e000000640508000300030007")),
        ("tag 2 unsorted", bytes.fromhex("860e000000640208000300050004")),
        ("tag 128", bytes.fromhex("860c00000005800601020304")),
        ("tag 3", bytes.fromhex("860a0000006403040003")),
    ]
    return found


OPTIONS = _options()


def tshark_categories(tag: cipso.Tag) -> str | None:
    """The text tshark shows for a tag's categories, None when it shows no such field."""
    if isinstance(tag, cipso.RestrictedBitmapTag):
        return ",".join(map(str, tag.categories)) if tag.bitmap else None
    if isinstance(tag, cipso.EnumeratedTag):
        return ",".join(map(str, tag.category_list)) or None
    if isinstance(tag, cipso.RangedTag):
        items = []
        for high, low in tag.ranges:
            bottom = 0 if low is None else low
            items.append(str(high) if high == bottom else f"{high}-{bottom}")
        return ",".join(items) or None
    return None


def expected_fields(
    option: cipso.CipsoOption,
) -> tuple[int, tuple[int, ...], tuple[int, ...], tuple[str, ...]]:
    levels = tuple(
        tag.level
        for tag in option.tags
        if isinstance(tag, (cipso.RestrictedBitmapTag, cipso.EnumeratedTag, cipso.RangedTag))
    )
    categories = tuple(text for tag in option.tags if (text := tshark_categories(tag)) is not None)
    return option.doi, tuple(int(tag.tag_type) for tag in option.tags), levels, categories


def observed_fields(
    fields: CipsoFields,
) -> tuple[int | None, tuple[int, ...], tuple[int, ...], tuple[str, ...]]:
    return fields.doi, fields.tag_types, fields.sensitivity_levels, fields.categories


@pytest.fixture(scope="module")
def dissections() -> list[Dissection]:
    need_program("tshark")
    packets = [
        ipv4_echo_request(cipso.build_options(option), ident=1, seq=number)
        for number, (_, option) in enumerate(OPTIONS)
    ]
    return dissect(packets)


def test_enough_cases_of_each_tag() -> None:
    counts = {1: 0, 2: 0, 5: 0}
    for _, data in OPTIONS:
        tags = cipso.decode(data).tags
        kind = tags[0].tag_type if tags else None
        if kind in counts:
            counts[kind] += 1
    assert min(counts.values()) >= 40, counts


@pytest.mark.parametrize("index", range(len(OPTIONS)), ids=[name for name, _ in OPTIONS])
def test_tshark_fields_equal_our_decode(dissections: list[Dissection], index: int) -> None:
    _, data = OPTIONS[index]
    option = cipso.decode(data)
    found = dissections[index].cipso
    assert len(found) == 1
    fields = found[0]
    assert fields.option == data
    assert fields.length == data[1]
    assert observed_fields(fields) == expected_fields(option)
    assert not fields.malformed, fields.expert


def test_scapy_agrees_with_tshark(dissections: list[Dissection]) -> None:
    """The same packets through scapy: the DOI and tag types tshark shows."""
    pytest.importorskip("scapy")
    from scapy.layers.inet import IP

    import cipso.scapy

    for index, (name, data) in enumerate(OPTIONS):
        packet = IP(ipv4_echo_request(cipso.build_options(data), ident=1, seq=index))
        option = packet.options[0]
        fields = dissections[index].cipso[0]
        assert (option.doi, tuple(tag.type for tag in option.tags)) == (
            fields.doi,
            fields.tag_types,
        ), name


def test_type_zero_tag_differs() -> None:
    """tshark 4.0 treats a type-0 tag as a one-byte pad (so the length byte 04 shows as tag
    type 4); the kernel rejects the tag at its type byte (cipso.md §4 check 10)."""
    need_program("tshark")
    data = bytes.fromhex("860a0000001000040003")
    (fields,) = dissect([ipv4_echo_request(cipso.build_options(data))])[0].cipso
    assert cipso.decode(data).tags[0].tag_type == 0
    assert fields.tag_types == (0, 4)
