"""The table of label counts per address pair (``labelnet dump --stats``)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelnet import _render as render_module
from labelnet._render import Format, StatsKey, format_stats, stats_pieces

# Addresses that are prefixes of one another, DOIs of different lengths and none, labels
# that differ in their last character: the cases where an order of joined text could
# differ from the order of the tuple.
_address = st.sampled_from(["10.0.0.1", "10.0.0.10", "10.0.0.2", "2001:db8::1", "2001:db8::"])
_key = st.tuples(
    _address,
    _address,
    st.sampled_from(["cipso", "calipso"]),
    st.sampled_from([None, 0, 3, 12, 4294967295]),
    st.sampled_from(["-", "s0", "s0:c1", "s0:c1,c2", "s0:c10", "s15:c0.c1023", "s1"]),
)
_stats = st.dictionaries(_key, st.integers(1, 4)).map(Counter[StatsKey])


@given(_stats)
def test_most_frequent_first_then_in_the_order_of_the_pair_and_label(
    stats: Counter[StatsKey],
) -> None:
    # The order the table has always had: by packets, most first; ties by (source,
    # destination, protocol), then by the text of (DOI, label).
    expected = sorted(stats.items(), key=lambda item: (-item[1], item[0][:3], str(item[0][3:])))
    assert render_module._most_frequent_first(stats) == expected


def _many_pairs(count: int) -> Counter[StatsKey]:
    return Counter(
        {
            (f"10.0.{i // 250}.{i % 250}", "10.1.0.1", "cipso", i % 3 or None, f"s{i % 16}:c{i}"): i
            % 7
            + 1
            for i in range(count)
        }
    )


@pytest.mark.parametrize("output", list(Format))
@pytest.mark.parametrize("named", [False, True])
def test_the_pieces_make_the_whole_table(
    output: Format, named: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    stats = _many_pairs(1000)
    names = (lambda label: "SystemLow" if label.startswith("s0:") else None) if named else None
    whole = format_stats(stats, output, names)
    monkeypatch.setattr(render_module, "_STATS_PIECE", 64)
    pieces = list(stats_pieces(stats, output, names))
    assert len(pieces) > 10
    assert "".join(pieces) == whole
    lines = whole.splitlines()
    rows = [line for line in lines if "10.1.0.1" in line]
    assert len(rows) == 1000
    if output is Format.TEXT:
        # Every line of the table as wide as the others, none ending in padding.
        table = lines[2:]
        assert len({len(line) for line in table}) == 1
        assert all(not line.endswith(" ") for line in table)
        headings = ["SOURCE", "DESTINATION", "OPTION", "DOI", "LABEL", "PACKETS"]
        if named:
            headings.insert(5, "SETRANS")
        assert table[0].split() == headings
        # The most frequent first (7 packets), ties in address order; no DOI shown as "-".
        assert table[1].split()[:5] == ["10.0.0.104", "10.1.0.1", "cipso", "2", "s8:c104"]
        assert table[2].split()[3] == "-"
        assert table[1].split()[-1] == "7" and table[-1].split()[-1] == "1"
