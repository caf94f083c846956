"""CALIPSO option decode (checksum verified) and encode: the fast codec against the construct
schema. Each decode call does the whole job on the same bytes, nothing is cached between calls.
"""

from __future__ import annotations

from _bench import OURS, Case

import calipso
from calipso import schema
from mls import Level

#: A typical option: DOI 2, level 3, three categories in two words (c1, c5, c40).
TYPICAL = Level.parse("s3:c1,c5,c40")
#: The largest option: 61 bitmap words.
LARGEST = Level.parse("s255:c0.c1951")


def cases() -> list[Case]:
    doi = calipso.CalipsoDoi(2)
    typical = doi.label_option(TYPICAL)
    typical_bytes = calipso.encode(typical)
    largest = doi.label_option(LARGEST)
    largest_bytes = calipso.encode(largest)
    decode = calipso.decode
    encode = calipso.encode
    dois = [doi]
    return [
        Case(f"calipso decode {TYPICAL}", OURS, lambda: decode(typical_bytes), 1_200_000),
        Case(f"calipso decode {TYPICAL}", "construct", lambda: schema.parse(typical_bytes)),
        Case(f"calipso encode {TYPICAL}", OURS, lambda: encode(typical)),
        Case(f"calipso encode {TYPICAL}", "construct", lambda: schema.build(typical)),
        Case("calipso decode 61 words", OURS, lambda: decode(largest_bytes)),
        Case("calipso decode 61 words", "construct", lambda: schema.parse(largest_bytes)),
        Case("calipso encode 61 words", OURS, lambda: encode(largest)),
        Case("calipso encode 61 words", "construct", lambda: schema.build(largest)),
        Case(f"calipso validate {TYPICAL}", OURS, lambda: calipso.validate(typical_bytes, dois)),
        Case(f"calipso encode_label {TYPICAL}", OURS, lambda: doi.encode_label(TYPICAL)),
        Case(
            f"calipso decode + categories {TYPICAL}", OURS, lambda: decode(typical_bytes).categories
        ),
        Case(f"calipso hop-by-hop header {TYPICAL}", OURS, lambda: calipso.build_header(typical)),
    ]
