from __future__ import annotations

import random

import pytest

from mls import CategorySet, MlsError, MlsSyntaxError, categories
from mls.categories import iter_runs


def test_construction_and_set_protocol() -> None:
    cats = CategorySet.of(7, 1, 2, 3)
    assert list(cats) == [1, 2, 3, 7]
    assert len(cats) == 4
    assert 2 in cats and 4 not in cats and -1 not in cats and "c2" not in cats
    assert cats == CategorySet.from_ranges([(1, 3), (7, 7)]) == CategorySet.parse("c1.c3,c7")
    assert cats | CategorySet.of(9) == CategorySet.of(1, 2, 3, 7, 9)
    assert cats & CategorySet.of(2, 9) == CategorySet.of(2)
    assert cats - CategorySet.of(2) == CategorySet.of(1, 3, 7)
    assert cats ^ CategorySet.of(1, 9) == CategorySet.of(2, 3, 7, 9)
    assert CategorySet.of(1) <= cats and CategorySet.of(1) < cats and not cats < cats
    assert cats >= CategorySet.of(7) and not CategorySet.of(8) <= cats
    assert cats.min == 1 and cats.max == 7
    assert CategorySet().max is None and not CategorySet()
    assert list(cats.runs()) == [(1, 3), (7, 7)]
    assert int(cats) == cats.bits == 0b10001110
    assert CategorySet.from_int(0b10001110) == cats
    assert str(cats) == "c1.c3,c7"
    assert hash(cats) == hash(CategorySet.of(1, 2, 3, 7))


@pytest.mark.parametrize("count", [0, 1, 2, 32, 33, 5000])
def test_construction_from_categories_any_count(count: int) -> None:
    # Up to 32 categories are or-ed in one by one, more go through bits_from_spans (linear):
    # both give the same set, from any iterable, in any order, with repeats.
    rng = random.Random(count)
    chosen = [rng.randrange(3 * count + 1) for _ in range(count)]
    expected = CategorySet.from_ranges((c, c) for c in chosen)
    assert CategorySet(chosen) == CategorySet(iter(chosen)) == CategorySet.of(*chosen) == expected
    assert len(CategorySet(chosen + chosen[::-1])) == len(set(chosen))


def test_category_set_is_immutable() -> None:
    cats = CategorySet.of(1)
    with pytest.raises(AttributeError):
        cats._bits = 5  # type: ignore[misc]


@pytest.mark.parametrize("bad", [-1, True, 1.0, "1"])
def test_bad_members_are_refused(bad: object) -> None:
    with pytest.raises(MlsError):
        CategorySet([bad])  # type: ignore[list-item]


def test_bad_spans_are_refused() -> None:
    with pytest.raises(MlsError):
        CategorySet.from_ranges([(5, 3)])
    with pytest.raises(MlsError):
        CategorySet.from_int(-1)
    with pytest.raises(MlsSyntaxError):
        CategorySet.parse("")


@pytest.mark.parametrize(
    ("categories", "bitmap"),
    [
        ((), ""),
        ((0,), "80"),
        ((0, 5), "84"),  # cipso.md worked example
        ((15,), "0001"),
        ((7, 8), "0180"),
        ((239,), "00" * 29 + "01"),
    ],
)
def test_wire_bitmap_msb_first_and_trimmed(categories: tuple[int, ...], bitmap: str) -> None:
    cats = CategorySet(categories)
    assert cats.to_bitmap().hex() == bitmap
    assert CategorySet.from_bitmap(bytes.fromhex(bitmap)) == cats


def test_wire_bitmap_alignment_and_padding() -> None:
    cats = CategorySet.of(0, 5)
    assert cats.to_bitmap(align=4).hex() == "84000000"
    assert CategorySet.of(32).to_bitmap(align=4).hex() == "0000000080000000"
    assert CategorySet().to_bitmap(align=4) == b""
    assert cats.to_bitmap(min_length=10).hex() == "84" + "00" * 9
    # Trailing zero bytes on the wire decode to the same set.
    assert CategorySet.from_bitmap(bytes.fromhex("84000000")) == cats


def test_runs_of_raw_integers() -> None:
    assert list(iter_runs(0)) == []
    assert list(iter_runs(0b1)) == [(0, 0)]
    assert list(iter_runs(0b1110_0110)) == [(1, 2), (5, 7)]
    assert list(iter_runs((1 << 1024) - 1)) == [(0, 1023)]


@pytest.mark.parametrize(
    "spans",
    [
        [(low, low) for low in range(0, 16, 2)],  # the most runs found from their edges
        [(low, low) for low in range(0, 18, 2)],  # one more: found in the binary text
        [(3, 5), (2047, 2048)],  # the last edge the table of powers holds
        [(3, 5), (2048, 2049)],  # one past it
        [(0, 100_000)],
    ],
)
def test_runs_either_way(spans: list[tuple[int, int]]) -> None:
    bits = CategorySet.from_ranges(spans).bits
    assert list(iter_runs(bits)) == spans


def test_printing_a_set_of_many_runs() -> None:
    # 64 KiB of 0xaa: 262144 runs of one category (printing was quadratic in the runs).
    text = str(CategorySet.from_bitmap(b"\xaa" * 65536))
    assert text.startswith("c0,c2,c4,") and text.endswith(",c524284,c524286")
    assert text.count(",") == 262143
    # The same through the dense path (under c2048) and around its edge.
    assert str(CategorySet.from_bitmap(b"\xaa" * 256)) == ",".join(
        f"c{n}" for n in range(0, 2048, 2)
    )
    edge = CategorySet.from_ranges([(2040, 2050), (2052, 2053)])
    assert str(edge) == "c2040.c2050,c2052,c2053"


@pytest.mark.parametrize("one_by_one", [0, 10, 10**9])
def test_dense_sets_print_the_same_however_their_texts_are_made(
    one_by_one: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cached texts of a byte position are made one window at a time for the first few
    # sets, then the whole position at once (completing what was made one by one).
    monkeypatch.setattr(categories, "_BYTE_TEXTS", [[None] * 256 for _ in range(32)])
    monkeypatch.setattr(categories, "_sets_with_new_texts", 0)
    monkeypatch.setattr(categories, "_ONE_BY_ONE", one_by_one)
    rng = random.Random(one_by_one)
    for _ in range(300):
        bits = rng.getrandbits(rng.choice((40, 200, 256)))
        assert categories.format_category_bits(bits) == categories._format_by_text_search(bits)


def test_one_dense_set_makes_only_its_own_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    # A program that prints one dense set does not pay for whole byte positions (13 ms).
    monkeypatch.setattr(categories, "_BYTE_TEXTS", [[None] * 256 for _ in range(32)])
    monkeypatch.setattr(categories, "_sets_with_new_texts", 0)
    text = str(CategorySet.from_bitmap(bytes([0x55] * 30)))
    assert text.startswith("c1,c3,c5,c7,c9")
    made = [texts for row in categories._BYTE_TEXTS for texts in row if texts is not None]
    assert len(made) == 30  # one window per byte of the set
