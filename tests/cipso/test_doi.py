"""DOI definitions as cipso_v4_doi_add accepts them, the kernel's tag choice
(cipso_v4_genopt) and reading labels back (cipso_v4_getattr)."""

from __future__ import annotations

import pickle
import sys

import pytest
from hypothesis import given

import cipso
from cipso import CipsoDoi, MapType, TagType
from cipso.doi import CipsoDoiSyntaxError
from cipso.strategies import dois
from mls import CategorySet, Level

PASS16 = CipsoDoi(16, MapType.PASS, (TagType.RESTRICTED_BITMAP,))
TRANS8 = CipsoDoi.from_netlabelctl("trans doi:8 tags:1 levels:0=0,1=1 categories:0=1,1=0")


# -- definitions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("map_type", "tags"),
    [
        (MapType.PASS, (1,)),
        (MapType.PASS, (1, 2, 5)),
        (MapType.PASS, (5, 5, 2, 1, 1)),
        (MapType.TRANS, (1,)),
        (MapType.LOCAL, (128,)),
        (MapType.LOCAL, (128, 1)),
        (MapType.LOCAL, (1,)),
    ],
)
def test_doi_add_accepts(map_type: MapType, tags: tuple[int, ...]) -> None:
    doi = CipsoDoi(3, map_type, tags)  # type: ignore[arg-type]
    assert doi.tags == tuple(TagType(t) for t in tags)
    assert all(isinstance(t, TagType) for t in doi.tags)


@pytest.mark.parametrize(
    ("doi", "map_type", "tags", "why"),
    [
        (0, MapType.PASS, (1,), "reserved"),
        (1 << 32, MapType.PASS, (1,), "32 bits"),
        (3, MapType.PASS, (), "1 to 5"),
        (3, MapType.PASS, (1, 1, 1, 1, 1, 1), "1 to 5"),
        (3, MapType.TRANS, (2,), "PASS"),
        (3, MapType.TRANS, (5,), "PASS"),
        (3, MapType.LOCAL, (2,), "PASS"),
        (3, MapType.PASS, (128,), "LOCAL"),
        (3, MapType.TRANS, (128,), "LOCAL"),
        (3, MapType.PASS, (6,), "not implemented"),
        (3, MapType.PASS, (7,), "not implemented"),
        (3, MapType.PASS, (0,), "not supported"),
        (3, MapType.PASS, (3,), "not supported"),
        (3, 0, (1,), "mapping type"),
        (3, 4, (1,), "mapping type"),
    ],
)
def test_doi_add_refuses(doi: int, map_type: int, tags: tuple[int, ...], why: str) -> None:
    with pytest.raises(cipso.CipsoDoiError, match=why):
        CipsoDoi(doi, map_type, tags)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("levels", "categories"),
    [
        (((0, 256),), ()),  # CIPSO_V4_MAX_REM_LVLS = 255
        (((0x80000000, 1),), ()),  # CIPSO_V4_MAX_LOC_LVLS = 0x7FFFFFFF
        (((1 << 20, 1),), ()),  # the kernel cannot store it (ENOMEM)
        (((0, 0),), ((0, 65535),)),  # CIPSO_V4_MAX_REM_CATS = 65534
        (((0, 0),), ((0x80000000, 0),)),
        (((0, 0),), ((1 << 20, 0),)),  # the kernel cannot store it (ENOMEM)
        (((0, -1),), ()),
        (((0, 1, 2),), ()),
    ],
)
def test_trans_table_limits(levels: object, categories: object) -> None:
    with pytest.raises(cipso.CipsoDoiError):
        CipsoDoi(3, MapType.TRANS, (1,), levels, categories)  # type: ignore[arg-type]


def test_trans_table_limits_accepted_at_the_boundary() -> None:
    doi = CipsoDoi(3, MapType.TRANS, (1,), ((1048575, 255),), ((1048575, 65534),))
    assert doi.level_to_wire(1048575) == 255 and cipso.doi.MAX_LOCAL_LEVEL == 1048575
    assert doi.category_from_wire(65534) == 1048575 == cipso.doi.MAX_LOCAL_CATEGORY


def test_wire_categories_mapped_to_large_host_categories_cost_their_size() -> None:
    # Regression: each wire category copied the whole host set (0.4 s and 573 MB for one
    # category mapped to 2**31 - 1). Now host categories stop at 1048575 (a 128 KiB set) and
    # the set is built once, however many wire categories map near the top.
    top = cipso.doi.MAX_LOCAL_CATEGORY
    pairs = tuple((top - wire, wire) for wire in range(240))
    doi = CipsoDoi(3, MapType.TRANS, (1,), ((0, 0),), pairs)
    option = bytes.fromhex("861000000003010a0000") + b"\xff" * 6  # wire categories 0..47
    level = doi.decode_label(option)
    assert len(level.categories) == 48 and level.categories.max == top
    assert doi.categories_from_wire(CategorySet.from_ranges([(0, 239)])) == CategorySet.from_ranges(
        [(top - 239, top)]
    )


def test_tables_only_for_trans() -> None:
    with pytest.raises(cipso.CipsoDoiError, match="TRANS"):
        CipsoDoi(3, MapType.PASS, (1,), ((0, 0),))


def test_trans_tables_both_directions_later_pairs_win() -> None:
    # netlbl_cipsov4_add_std fills local[loc] = rem and cipso[rem] = loc pair by pair.
    doi = CipsoDoi(3, MapType.TRANS, (1,), ((0, 5), (0, 6), (1, 6)))
    assert doi.level_to_wire(0) == 6
    assert doi.level_to_wire(1) == 6
    assert doi.level_from_wire(5) == 0
    assert doi.level_from_wire(6) == 1
    assert doi.level_to_wire(2) is None
    assert doi.level_from_wire(7) is None
    assert TRANS8.categories_to_wire(CategorySet.of(0, 1)) == CategorySet.of(0, 1)
    assert TRANS8.category_to_wire(0) == 1
    assert TRANS8.category_from_wire(1) == 0
    assert TRANS8.categories_to_wire(CategorySet.of(2)) is None
    assert TRANS8.categories_from_wire(CategorySet.of(0, 1)) == CategorySet.of(0, 1)


def test_pass_and_local_tables() -> None:
    assert PASS16.level_to_wire(200) == 200
    assert PASS16.categories_from_wire(CategorySet.of(9)) == CategorySet.of(9)
    local = CipsoDoi.local(5)
    assert local.level_to_wire(0) is None
    assert local.category_from_wire(0) is None
    assert local.categories_to_wire(CategorySet()) == CategorySet()


# -- netlabelctl syntax ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pass doi:16 tags:1", CipsoDoi(16, MapType.PASS, (TagType.RESTRICTED_BITMAP,))),
        (
            "cipso add pass doi:100 tags:1,2,5",
            CipsoDoi(100, MapType.PASS, (TagType(1), TagType(2), TagType(5))),
        ),
        (
            "trans doi:8 tags:1 levels:0=0,1=1 categories:0=1,1=0",
            CipsoDoi(8, MapType.TRANS, (TagType(1),), ((0, 0), (1, 1)), ((0, 1), (1, 0))),
        ),
        ("std doi:8 tags:1 levels:3=2", CipsoDoi(8, MapType.TRANS, (TagType(1),), ((3, 2),))),
        ("local doi:5", CipsoDoi(5, MapType.LOCAL, (TagType.LOCAL,))),
        # What netlabelctl accepts and the kernel stores alike:
        ("local doi:5 tags:128", CipsoDoi.local(5)),
        ("netlabelctl cipso add local doi:5", CipsoDoi.local(5)),
        ("cipsov4 pass doi:16 tags:1", CipsoDoi.pass_through(16)),
        ("doi:16 tags:1 pass", CipsoDoi.pass_through(16)),
        ("pass doi:0016 tags:01", CipsoDoi.pass_through(16)),
        ("trans doi:8 tags:1 levels:3=2 categories:", CipsoDoi(8, MapType.TRANS, (1,), ((3, 2),))),
        ("pass doi:4294967295 tags:1,1", CipsoDoi(0xFFFFFFFF, MapType.PASS, (1, 1))),
    ],
)
def test_from_netlabelctl(text: str, expected: CipsoDoi) -> None:
    doi = CipsoDoi.from_netlabelctl(text)
    assert doi == expected
    assert CipsoDoi.from_netlabelctl(doi.to_netlabelctl()) == doi


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bogus doi:1 tags:1",
        "pass tags:1",
        "pass doi:1",
        "pass doi:x tags:1",
        "pass doi:1 tags:1,",
        "pass doi:0 tags:1",
        "pass doi:1 tags:2 levels:0=0",
        "trans doi:1 tags:1",
        "trans doi:1 tags:1 levels:0",
        "trans doi:1 tags:1 levels:0=a",
        "pass doi:1 doi:2 tags:1",
        "pass doi:1 tags:1 color:red",
        "local doi:1 tags:1",
        "pass doi:1 tags:99999999999",
        # netlabelctl takes these (atoi, ignored or repeated words) but means something else
        # than it says, or nothing the kernel would store:
        "pass doi:1x tags:1",
        "pass doi:+1 tags:1",
        "pass doi:1 tags:1,,5",
        "pass doi:1 tags:1 tags:5",
        "pass trans doi:1 tags:1 levels:0=0",
        "pass doi:1 tags:1 levels:",
        "local doi:1 levels:0=0",
        "trans doi:1 tags:1 levels:",
        "trans doi:1 tags:1 levels:0=0 categories:2147483647=0",
        "PASS doi:1 tags:1",
        "pass DOI:1 tags:1",
        "pass doi:٣ tags:1",
        "pass doi:² tags:1",
        "pass doi:4294967296 tags:1",
        "pass doi:" + "9" * 4301 + " tags:1",
        "trans doi:1 tags:1 levels:0=0,1",
        "calipso add pass doi:1",
    ],
)
def test_from_netlabelctl_refuses(text: str) -> None:
    with pytest.raises(cipso.CipsoDoiError):
        CipsoDoi.from_netlabelctl(text)


@pytest.mark.parametrize(
    ("text", "argument", "position", "words"),
    [
        ("pass doi:16 tags:1,x", "tags:1,x", 7, "ASCII digits"),
        ("pass doi:٣ tags:1", "doi:٣", 4, "ASCII digits"),
        ("pass doi:99999999999 tags:1", "doi:99999999999", 4, "99999999999 is above 4294967295"),
        ("pass doi:" + "9" * 5000 + " tags:1", "doi:" + "9" * 5000, 4, "of 5000 digits is above"),
        ("trans doi:3 tags:1 levels:0=0,1", "levels:0=0,1", 11, "<local>=<wire>"),
        ("trans doi:3 tags:1 levels:0=0,1=", "levels:0=0,1=", 13, "wire level is missing"),
        ("pass doi:3", "pass doi:3", 0, "missing tags:"),
        ("bogus doi:16", "bogus", 0, "unknown DOI type 'bogus'"),
    ],
)
def test_netlabelctl_errors_name_the_argument_and_character(
    text: str, argument: str, position: int, words: str
) -> None:
    with pytest.raises(CipsoDoiSyntaxError) as info:
        CipsoDoi.from_netlabelctl(text)
    error = info.value
    assert (error.argument, error.position) == (argument, position)
    assert words in str(error) and len(str(error)) < 300
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.position) == (type(error), str(error), position)


def test_a_doi_above_32_bits_says_so() -> None:
    # Regression: 99999999999 was explained as "0 is reserved".
    with pytest.raises(cipso.CipsoDoiError, match="above 4294967295") as info:
        CipsoDoi(99999999999, MapType.PASS, (1,))
    assert "reserved" not in str(info.value)


def test_to_netlabelctl_refuses_what_netlabelctl_cannot_add() -> None:
    # Regression: a TRANS DOI without level pairs printed as "levels:", which netlabelctl and
    # from_netlabelctl refuse. The kernel takes both of these over netlink.
    with pytest.raises(cipso.CipsoDoiError, match="without level pairs"):
        CipsoDoi(3, MapType.TRANS, (1,)).to_netlabelctl()
    with pytest.raises(cipso.CipsoDoiError, match="tag 128 alone"):
        CipsoDoi(3, MapType.LOCAL, (1,)).to_netlabelctl()
    trans = CipsoDoi(3, MapType.TRANS, (1,), ((0, 0),))
    assert trans.to_netlabelctl() == "trans doi:3 tags:1 levels:0=0"


@given(dois(one_to_one=False))
def test_to_netlabelctl_round_trips(doi: CipsoDoi) -> None:
    try:
        text = doi.to_netlabelctl()
    except cipso.CipsoDoiError:
        # Only the two definitions netlabelctl has no words for.
        assert doi.map_type is MapType.LOCAL and doi.tags != (TagType.LOCAL,)
        return
    assert CipsoDoi.from_netlabelctl(text) == doi
    assert CipsoDoi.from_netlabelctl(text.split()) == doi
    assert CipsoDoi.from_netlabelctl("netlabelctl cipso add " + text) == doi


# -- encode_label (cipso_v4_genopt) -----------------------------------------------------------


def test_worked_example() -> None:
    level = Level.parse("s3:c0,c5")
    assert PASS16.encode_label(level) == bytes.fromhex("860b000000100105000384")
    assert PASS16.encode_label(level, pad=True) == bytes.fromhex("860b00000010010500038400")


def test_optimised_bitmap_format() -> None:
    data = PASS16.encode_label(Level.parse("s3:c0,c5"), optimized_bitmap=True)
    assert data == bytes.fromhex("861400000010010e000384") + bytes(9)
    assert PASS16.encode_label(Level.parse("s3:c0,c5"), optimized_bitmap=True, pad=True) == data
    # An 11-byte minimal bitmap is sent as it is.
    long = PASS16.encode_label(Level.parse("s3:c80"), optimized_bitmap=True)
    assert long == bytes.fromhex("861500000010 010f0003") + bytes(10) + b"\x80"


def test_no_categories_and_the_empty_category_map_quirk() -> None:
    assert PASS16.encode_label(Level(3)) == bytes.fromhex("860a00000010 01040003")
    assert PASS16.encode_label(Level(3), pad=True) == bytes.fromhex("860a00000010 01040003 0000")
    # A category map that is present but empty still yields one zero bitmap byte.
    assert PASS16.encode_label(Level(3), categories_flag=True) == bytes.fromhex(
        "860b00000010 0105000300"
    )
    assert PASS16.encode_label(Level(3), categories_flag=True, optimized_bitmap=True) == (
        bytes.fromhex("861400000010 010e0003") + bytes(10)
    )
    # Categories present but the flag unset: they are not sent.
    assert PASS16.encode_label(Level.parse("s3:c1"), categories_flag=False) == bytes.fromhex(
        "860a00000010 01040003"
    )


def test_bitmap_boundary_category_239() -> None:
    data = PASS16.encode_label(Level.parse("s0:c239"))
    assert len(data) == 40 and data[-1] == 0x01
    with pytest.raises(cipso.CipsoLabelError) as caught:
        PASS16.encode_label(Level.parse("s0:c240"))
    assert caught.value.errno == "ENOSPC"
    assert caught.value.attempts[0][:2] == (1, "ENOSPC")


def test_tag_5_example() -> None:
    doi = CipsoDoi(16, MapType.PASS, (TagType.RANGED,))
    data = doi.encode_label(Level.parse("s3:c0.c3,c10.c12"))
    assert data == bytes.fromhex("861000000010 050a0003 000c000a0003")
    assert doi.encode_label(Level.parse("s3:c0")) == bytes.fromhex("860c00000010 05060003 0000")
    assert doi.encode_label(Level.parse("s3:c7")) == bytes.fromhex("860e00000010 05080003 00070007")


def test_tag_5_eight_ranges_fit_only_from_zero() -> None:
    doi = CipsoDoi(16, MapType.PASS, (TagType.RANGED,))
    from_zero = CategorySet.from_ranges([(i * 10, i * 10 + 1) for i in range(8)])
    data = doi.encode_label(Level(1, from_zero))
    assert len(data) == 40
    assert data[-2:] == b"\x00\x01"  # the lowest range's high, its low 0 left out
    not_from_zero = CategorySet.from_ranges([(i * 10 + 1, i * 10 + 2) for i in range(8)])
    with pytest.raises(cipso.CipsoLabelError) as caught:
        doi.encode_label(Level(1, not_from_zero))
    assert caught.value.errno == "ENOSPC"
    seven = CategorySet.from_ranges([(i * 10 + 1, i * 10 + 2) for i in range(7)])
    assert len(doi.encode_label(Level(1, seven))) == 6 + 4 + 28


def test_tag_2_fifteen_categories_then_next_tag() -> None:
    doi = CipsoDoi(100, MapType.PASS, (TagType.ENUMERATED, TagType.RESTRICTED_BITMAP))
    fifteen = Level(2, CategorySet(range(0, 30, 2)))
    assert doi.encode_label(fifteen)[6] == TagType.ENUMERATED
    assert doi.encode_label(fifteen) == bytes.fromhex("862800000064 02220002") + b"".join(
        n.to_bytes(2, "big") for n in range(0, 30, 2)
    )
    sixteen = Level(2, CategorySet(range(0, 32, 2)))
    option = doi.label_option(sixteen)
    assert isinstance(option.tags[0], cipso.RestrictedBitmapTag)
    assert option.tags[0].categories == sixteen.categories


def test_next_tag_after_bitmap_overflow() -> None:
    doi = CipsoDoi(100, MapType.PASS, (TagType.RESTRICTED_BITMAP, TagType.RANGED))
    data = doi.encode_label(Level.parse("s1:c300"))
    assert data == bytes.fromhex("860e00000064 05080001 012c012c")


def test_trans_encoding_and_unmapped_labels() -> None:
    assert TRANS8.encode_label(Level.parse("s1:c0")) == bytes.fromhex("860b00000008 0105000140")
    with pytest.raises(cipso.CipsoLabelError) as caught:
        TRANS8.encode_label(Level.parse("s2"))
    assert caught.value.errno == "EPERM"
    with pytest.raises(cipso.CipsoLabelError, match="category 2") as caught:
        TRANS8.encode_label(Level.parse("s1:c2"))
    assert caught.value.errno == "EPERM"
    far = CipsoDoi(9, MapType.TRANS, (1,), ((0, 0),), ((0, 240),))
    with pytest.raises(cipso.CipsoLabelError) as caught:
        far.encode_label(Level.parse("s0:c0"))
    assert caught.value.errno == "ENOSPC"


def test_local_doi_carries_a_secid() -> None:
    local = CipsoDoi.local(5)
    data = local.encode_label(None, secid=0x01020304)
    assert data == bytes.fromhex("860c00000005 8006") + (0x01020304).to_bytes(4, sys.byteorder)
    assert local.encode_label(None, secid=7, pad=True) == data[:8] + (7).to_bytes(4, sys.byteorder)
    with pytest.raises(cipso.CipsoLabelError) as caught:
        local.encode_label(Level(0))
    assert caught.value.errno == "EPERM"
    # Tag 1 in a LOCAL DOI maps no level (cipso_v4_map_lvl_hton answers -EINVAL).
    both = CipsoDoi(6, MapType.LOCAL, (TagType.RESTRICTED_BITMAP, TagType.LOCAL))
    assert both.label_option(Level(0), secid=9).tags == (cipso.LocalTag(9),)
    with pytest.raises(cipso.CipsoLabelError) as caught:
        both.encode_label(Level(0))
    assert [errno for _, errno, _ in caught.value.attempts] == ["EINVAL", "EPERM"]


def test_no_level_means_no_mls_tag() -> None:
    with pytest.raises(cipso.CipsoLabelError) as caught:
        PASS16.encode_label(None)
    assert caught.value.errno == "EPERM"
    assert isinstance(caught.value, cipso.CipsoLocalError)


def test_values_the_kernel_would_truncate_are_refused() -> None:
    with pytest.raises(cipso.CipsoLabelError, match="truncate"):
        PASS16.encode_label(Level(256))
    for tag in (TagType.ENUMERATED, TagType.RANGED):
        doi = CipsoDoi(1, MapType.PASS, (tag, TagType.RESTRICTED_BITMAP))
        with pytest.raises(cipso.CipsoLabelError, match="truncate"):
            doi.encode_label(Level(0, CategorySet.of(65536)))
        assert doi.encode_label(Level(0, CategorySet.of(65535)))[6] == tag


# -- decode_label (cipso_v4_getattr) ----------------------------------------------------------


def test_decode_label_pass_and_trans() -> None:
    assert PASS16.decode_label(bytes.fromhex("860b000000100105000384")) == Level.parse("s3:c0,c5")
    assert TRANS8.decode_label(bytes.fromhex("860b00000008 01050001c0")) == Level.parse("s1:c0,c1")
    assert TRANS8.decode_label(bytes.fromhex("860b00000008 0105000140")) == Level.parse("s1:c0")
    option = cipso.decode(bytes.fromhex("861000000064 050a0003 000c000a0003"))
    doi = CipsoDoi.from_netlabelctl("pass doi:100 tags:1,2,5")
    assert doi.decode_label(option) == Level.parse("s3:c0.c3,c10.c12")


def test_decode_label_reads_only_the_first_tag() -> None:
    data = bytes.fromhex("860f00000010 01040003 0105000780")
    assert PASS16.decode_label(data) == Level(3)


def test_decode_label_rejects() -> None:
    with pytest.raises(cipso.CipsoValidationError) as caught:
        PASS16.decode_label(bytes.fromhex("860b000000110105000384"))
    assert caught.value.offset == 2
    # Accepted by the validator when strict checks are off, but not mappable.
    with pytest.raises(cipso.CipsoDecodeError) as decode_caught:
        TRANS8.decode_label(bytes.fromhex("860a00000008 01040002"), strict_bitmap=False)
    assert decode_caught.value.offset == 9
    with pytest.raises(cipso.CipsoDecodeError) as decode_caught:
        TRANS8.decode_label(bytes.fromhex("860b00000008 0105000104"), strict_bitmap=False)
    assert decode_caught.value.offset == 10


def test_tag_128_carries_a_secid_not_a_level() -> None:
    local = CipsoDoi.local(5)
    data = local.encode_label(None, secid=0x1234)
    with pytest.raises(cipso.CipsoDecodeError, match="secid"):
        local.decode_label(data)
    assert local.decode_secid(data) == 0x1234
    assert local.decode_secid(cipso.decode(data)) == 0x1234
    with pytest.raises(cipso.CipsoDecodeError):
        PASS16.decode_secid(PASS16.encode_label(Level(1)))


def test_doi_table_refuses_duplicates() -> None:
    with pytest.raises(cipso.CipsoDoiError, match="EEXIST"):
        cipso.validate(b"", [PASS16, PASS16])
