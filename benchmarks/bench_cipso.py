"""CIPSO option decode and encode: the fast codec against the construct schema, plus the
kernel's tag choice (encode_label) and validation. Every call does the whole job on the same
bytes; nothing is cached between calls.
"""

from __future__ import annotations

from functools import partial

from _bench import OURS, Case

import cipso
from cipso import schema
from mls import Level

#: The typical labels, one per tag the kernel sends for them (tag 1 under "pass doi:16
#: tags:1", tag 5 under "pass doi:16 tags:5"), and an MCS-like pair of categories.
TAG1_LABEL = Level.parse("s3:c0,c5")
TAG1_MCS_LABEL = Level.parse("s0:c12,c200")
TAG5_LABEL = Level.parse("s3:c0.c3,c10.c12")
#: Options per second per core that decode (tag 1, the kernel's usual tag, and the others) and
#: encode must at least reach.
TAG1_DECODE_TARGET = 1_500_000
DECODE_TARGET = 1_000_000
ENCODE_TARGET = 1_000_000


def _group(action: str, tag: int, label: Level) -> str:
    return f"cipso {action} tag {tag} {label}"


def _decode_level(data: bytes) -> Level | None:
    return cipso.decode(data).mls_level


def cases() -> list[Case]:
    found: list[Case] = []
    for tag, label in ((1, TAG1_LABEL), (1, TAG1_MCS_LABEL), (5, TAG5_LABEL)):
        doi = cipso.CipsoDoi.pass_through(16, (tag,))
        data = doi.encode_label(label)
        option = cipso.decode(data)
        container = schema.to_container(option)
        found += [
            Case(
                _group("decode", tag, label),
                OURS,
                partial(cipso.decode, data),
                TAG1_DECODE_TARGET if tag == 1 else DECODE_TARGET,
            ),
            Case(
                _group("decode", tag, label), "construct", partial(schema.CIPSO_OPTION.parse, data)
            ),
            Case(_group("encode", tag, label), OURS, partial(cipso.encode, option), ENCODE_TARGET),
            Case(
                _group("encode", tag, label),
                "construct",
                partial(schema.CIPSO_OPTION.build, container),
            ),
            Case(
                _group("decode + level", tag, label),
                OURS,
                partial(_decode_level, data),
            ),
            Case(_group("encode_label", tag, label), OURS, partial(doi.encode_label, label)),
            Case(_group("validate", tag, label), OURS, partial(cipso.validate, data, [doi])),
        ]
    trans = cipso.CipsoDoi.from_netlabelctl(
        "trans doi:8 tags:1 levels:0=0,1=1,3=2 categories:0=1,5=4"
    )
    trans_data = trans.encode_label(TAG1_LABEL)
    found += [
        Case(
            f"cipso encode_label TRANS {TAG1_LABEL}", OURS, partial(trans.encode_label, TAG1_LABEL)
        ),
        Case(
            f"cipso decode_label TRANS {TAG1_LABEL}", OURS, partial(trans.decode_label, trans_data)
        ),
    ]
    return found
