"""Failures found by the targets in code whose fix is pending, each with its xfail regression
test. A failure matching one of these (same exception type, raised in the same file, message
containing the text) does not stop a fuzzing run; anything else does. Remove an entry with its
fix."""

from __future__ import annotations

import traceback
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KnownFailure:
    error: type[BaseException]
    raised_in: str  #: path of the module, from the checkout's root
    message: str
    test: str  #: the xfail test that pins it


KNOWN: tuple[KnownFailure, ...] = ()


def known(error: BaseException) -> KnownFailure | None:
    frames = traceback.extract_tb(error.__traceback__)
    origin = frames[-1].filename.replace("\\", "/") if frames else ""
    for failure in KNOWN:
        if (
            type(error) is failure.error
            and origin.endswith("/" + failure.raised_in)
            and failure.message in str(error)
        ):
            return failure
    return None
