"""The shipped corpus (:func:`cipso.vectors`) in the dictionary shape the older tests index:
``VECTORS["dois"]`` maps DOI names to netlabelctl text, ``VECTORS["options"]`` holds the
single-option vectors (``hex``, ``dois`` by name, ``offset`` from cipso.validate,
``decode_offset``, ``level``, ``strict_bitmap``, ``loopback``) and ``VECTORS["areas"]`` the
options areas the kernel accepted or answered (``hex``, ``pointer``, ``cipso_start``)."""

from __future__ import annotations

from typing import Any

import cipso


def doi_name(text: str) -> str:
    """``pass doi:16 tags:1`` -> ``pass16``; a DOI with all five tag slots ends in ``full``."""
    words = text.split()
    name = words[0] + words[1].removeprefix("doi:")
    tags = next((word for word in words if word.startswith("tags:")), "tags:")
    return name + "full" if len(tags[5:].split(",")) == 5 else name


def _option(vector: cipso.CipsoVector) -> dict[str, Any]:
    assert vector.option is not None
    entry: dict[str, Any] = {
        "name": vector.name,
        "hex": vector.option.hex(),
        "dois": [doi_name(text) for text in vector.dois],
        "offset": vector.validate_offset,
    }
    if vector.decoded is None:
        entry["decode_offset"] = vector.decode_error_offset
    elif vector.decoded.level is not None:
        entry["level"] = str(vector.decoded.level)
    if not vector.strict_bitmap:
        entry["strict_bitmap"] = False
    if vector.loopback:
        entry["loopback"] = True
    return entry


def _area(vector: cipso.CipsoVector) -> dict[str, Any]:
    return {
        "name": vector.name,
        "hex": vector.area.hex(),
        "dois": [doi_name(text) for text in vector.dois],
        "pointer": vector.kernel.pointer,
        "cipso_start": vector.cipso_start,
    }


def _legacy() -> dict[str, Any]:
    vectors = cipso.vectors()
    texts = dict.fromkeys(text for vector in vectors for text in vector.dois)
    return {
        "dois": {doi_name(text): text for text in texts},
        "options": [_option(v) for v in vectors if v.option is not None],
        # Areas the kernel answered (accepted or with a Parameter Problem, whose pointer is
        # "pointer"); the silent source-route drops have no pointer and are checked in
        # test_corpus.py.
        "areas": [
            _area(v)
            for v in vectors
            if v.option is None and v.kernel_recorded and not v.kernel.dropped
        ],
    }


VECTORS = _legacy()
