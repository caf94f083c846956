"""Failures the fuzz targets found in code still to be fixed: each pinned by a strict xfail
(it fails today; when the fix lands the test passes, and the xfail marker and the entry in
fuzz/known.py go)."""

from __future__ import annotations

import pytest

from netlabel import ctl


@pytest.mark.xfail(
    strict=True,
    raises=ValueError,
    reason="netlabel.ctl._number calls int() before bounding the digits: Python's 4300-digit "
    "limit raises a plain ValueError, not CtlSyntaxError",
)
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
