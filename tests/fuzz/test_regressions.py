"""Failures the fuzz targets found, fixed: each stays as a regression test. (A failure still
to be fixed is pinned by a strict xfail here and an entry in fuzz/known.py.)"""

from __future__ import annotations

import pytest

from netlabel import ctl


@pytest.mark.parametrize(
    ("tokens", "offset"),
    [
        (["pass", "doi:" + "1" * 4400, "tags:1"], 4),
        (["pass", "doi:16", "tags:" + "1" * 4400], 5),
    ],
)
def test_netlabelctl_numbers_of_any_length(tokens: list[str], offset: int) -> None:
    # Reproducer: fuzz/corpus/netlabel_ctl/73d9d2c302... ("pass doi:111...1 tags:1").
    with pytest.raises(ctl.CtlSyntaxError) as caught:
        ctl.parse_cipso_add(tokens)
    assert caught.value.offset == offset
