"""Conformance with the live Linux kernel: the differential fuzzer behind ``labelnet
conformance cipso|calipso`` and the recorder of the shipped corpus's kernel verdicts
(``labelnet conformance record``). Both use :class:`netlabel.harness.KernelHarness`."""

from __future__ import annotations

from .fuzz import PROTOCOLS, Disagreement, Progress, RunResult, Verdict, run, summary
from .record import RecordResult, corpus_files, record

__all__ = [
    "PROTOCOLS",
    "Disagreement",
    "Progress",
    "RecordResult",
    "RunResult",
    "Verdict",
    "corpus_files",
    "record",
    "run",
    "summary",
]
