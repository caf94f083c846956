"""Reading the vector corpora that cipso and calipso ship (``<package>/corpus/*.json``).

Both corpora have the same frame: a ``dois`` table (names to netlabelctl definitions) and a
list of ``vectors``; each package reads its own vectors' fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

__all__ = ["corpus_vectors"]


def corpus_vectors(package: str) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    """``(vector, DOI table)`` for every vector of ``package``'s corpus, in file order (the
    files in name order)."""
    folder = resources.files(package).joinpath("corpus")
    for entry in sorted(folder.iterdir(), key=lambda path: path.name):
        if not entry.name.endswith(".json"):
            continue
        corpus = json.loads(entry.read_text(encoding="utf-8"))
        dois: dict[str, str] = corpus["dois"]
        for item in corpus["vectors"]:
            yield item, dois
