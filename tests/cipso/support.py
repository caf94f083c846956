"""Strategies shared by the CIPSO tests."""

from __future__ import annotations

from hypothesis import strategies as st

import cipso
from cipso.strategies import doi_labels
from mls import Level


def _encoded(doi_and_level: tuple[cipso.CipsoDoi, Level]) -> tuple[cipso.CipsoDoi, Level, bytes]:
    doi, level = doi_and_level
    return doi, level, doi.encode_label(level)


def _encodable(doi_and_level: tuple[cipso.CipsoDoi, Level]) -> bool:
    doi, level = doi_and_level
    try:
        doi.encode_label(level)
    except cipso.CipsoLabelError:
        # Only when the label needs more than the chosen tag can hold and no other tag fits.
        return False
    return True


def encoded_labels() -> st.SearchStrategy[tuple[cipso.CipsoDoi, Level, bytes]]:
    """A DOI, a label it can encode, and that encoding (doi.encode_label)."""
    return doi_labels().filter(_encodable).map(_encoded)
