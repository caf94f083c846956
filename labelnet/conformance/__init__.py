"""Conformance with the live Linux kernel: the differential fuzzer behind ``labelnet
conformance cipso|calipso`` and the recorder of the shipped corpus's kernel verdicts
(``labelnet conformance record``). Both use :class:`netlabel.harness.KernelHarness`."""

from __future__ import annotations

from .fuzz import PROTOCOLS, Disagreement, Progress, RunResult, agree, run, summary
from .record import RecordResult, corpus_files, record

__all__ = [
    "PROTOCOLS",
    "Disagreement",
    "Progress",
    "RecordResult",
    "RunResult",
    "agree",
    "corpus_files",
    "record",
    "run",
    "summary",
]
