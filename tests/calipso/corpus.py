"""The shipped corpus (:func:`calipso.vectors`) in the dictionary shape the older tests index:
``VECTORS["options"]`` (single options judged with DOI 2: ``hex``, ``decode`` or
``decode_error_offset``, ``kernel_with_doi_2`` and ``kernel_offset`` from calipso.validate),
``VECTORS["headers"]`` (headers built by inserting a label: ``before``, ``level``, ``hex``,
``removed``) and ``VECTORS["verdicts"]`` (headers sent to the kernel with one DOI configured:
``doi`` and ``cases`` of ``hex``, ``kind``, ``pointer``, ``code``)."""

from __future__ import annotations

from typing import Any

import calipso

#: calipso.md §2's worked example: DOI 2 and the option carrying s3:c0,c5 with it.
DOI = calipso.CalipsoDoi(2)
WORKED_EXAMPLE = bytes.fromhex("070c000000020103980f84000000")


def _doi(vector: calipso.CalipsoVector) -> int | None:
    if len(vector.dois) != 1:
        return None
    return int(vector.dois[0].split("doi:")[1])


def _option(vector: calipso.CalipsoVector) -> dict[str, Any]:
    assert vector.option is not None
    entry: dict[str, Any] = {
        "name": vector.name,
        "note": vector.description,
        "hex": vector.option.hex(),
        "kernel_with_doi_2": vector.validate_check or "accepted",
    }
    if vector.validate_offset is not None:
        entry["kernel_offset"] = vector.validate_offset
    decoded = vector.decoded
    if decoded is None:
        entry["decode_error_offset"] = vector.decode_error_offset
    else:
        entry["decode"] = {
            "doi": decoded.doi,
            "sensitivity": decoded.sensitivity,
            "bitmap": decoded.bitmap.hex(),
            "extra": decoded.extra.hex(),
            "checksum_bytes": decoded.checksum.hex(),
            "checksum_ok": decoded.checksum_ok,
            "level": str(decoded.level),
        }
    return entry


def _header(vector: calipso.CalipsoVector) -> dict[str, Any]:
    insertion = vector.insertion
    assert insertion is not None
    return {
        "name": vector.name,
        "note": vector.description,
        "before": None if insertion.before is None else insertion.before.hex(),
        "level": str(insertion.level),
        "hex": vector.header.hex(),
        "removed": None if insertion.removed is None else insertion.removed.hex(),
    }


def _legacy() -> dict[str, Any]:
    vectors = calipso.vectors()
    headers = [v for v in vectors if v.option is None and v.insertion is None]
    # The header cases share one DOI (the first case's); test_corpus.py covers the others.
    doi = _doi(headers[0])
    return {
        "options": [_option(v) for v in vectors if v.option is not None and _doi(v) == 2],
        "headers": [_header(v) for v in vectors if v.insertion is not None],
        "verdicts": {
            "doi": doi,
            "observed_on": "the live kernel, recorded by labelnet conformance record",
            "cases": [
                {
                    "name": v.name,
                    "hex": v.header.hex(),
                    "kind": str(v.kernel.kind),
                    "pointer": v.kernel.pointer,
                    "code": v.kernel.code,
                }
                for v in headers
                if _doi(v) == doi
            ],
        },
    }


VECTORS = _legacy()
