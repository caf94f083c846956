"""Every ``>>>`` example in docs/*.md and README.md runs, and its output must match."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_examples_in_page_run(page: Path) -> None:
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False,
        verbose=False,
    )
    assert result.failed == 0, f"{result.failed} example(s) in {page.name} failed (see output)"


def test_the_guide_has_examples() -> None:
    # A page without a single example would pass the test above vacuously.
    for page in PAGES:
        if page.name in {"README.md", "kernel.md"}:
            continue
        assert ">>> " in page.read_text(), f"{page.name} shows no runnable example"
