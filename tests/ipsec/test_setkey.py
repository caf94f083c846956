"""setkey's -ctx clause: the spec's examples, canonical printing, placement rules and errors
with columns."""

from __future__ import annotations

import pytest

from labelnet.ipsec import (
    IpsecEncodeError,
    SadbSecCtx,
    SetkeyCtx,
    SetkeySyntaxError,
    XfrmSecCtx,
    find_setkey_ctx,
    parse_setkey_ctx,
    with_setkey_ctx,
)
from mls import Context
from tests.support import raises_at

SA_LINE = (
    "add 10.0.0.1 10.0.0.2 esp 0x201 -m transport "
    '-ctx 1 1 "system_u:object_r:unlabeled_t:s3:c1.c5" '
    "-E aes-cbc 0x00112233445566778899aabbccddeeff -A hmac-sha256 0x00 ;"
)
SPD_LINE = (
    "spdadd 10.0.0.1 10.0.0.2 any "
    '-ctx 1 1 "system_u:object_r:ipsec_spd_t:s0-s15:c0.c1023" '
    "-P out ipsec esp/transport//require ;"
)


def test_sa_line_from_the_spec() -> None:
    clause = find_setkey_ctx(SA_LINE)
    assert clause is not None
    assert clause.ctx == SetkeyCtx(Context.parse("system_u:object_r:unlabeled_t:s3:c1.c5"))
    assert SA_LINE[clause.start : clause.end].startswith("-ctx 1 1 ")
    assert SA_LINE[clause.end - 1] == '"'
    # setkey sends ctx_len = strlen + 1; the kernel makes the same xfrm_user_sec_ctx of it.
    assert clause.ctx.to_sadb() == SadbSecCtx(b"system_u:object_r:unlabeled_t:s3:c1.c5\0")
    assert clause.ctx.to_xfrm() == XfrmSecCtx.from_context("system_u:object_r:unlabeled_t:s3:c1.c5")


@pytest.mark.parametrize("command", ["spdadd", "spdupdate", "spddelete"])
def test_policy_lines_from_the_spec(command: str) -> None:
    line = SPD_LINE.replace("spdadd", command)
    clause = find_setkey_ctx(line)
    assert clause is not None
    assert str(clause.ctx) == '-ctx 1 1 "system_u:object_r:ipsec_spd_t:s0-s15:c0.c1023"'


def test_printing_is_canonical() -> None:
    line = 'spdadd 10.0.0.1 10.0.0.2 any -ctx 1 1 "u:r:t:s0-s2:c3,c1,c2,c2" -P out none;'
    clause = find_setkey_ctx(line)
    assert clause is not None
    assert str(clause.ctx) == '-ctx 1 1 "u:r:t:s0-s2:c1.c3"'
    assert with_setkey_ctx(line, clause.ctx) == (
        'spdadd 10.0.0.1 10.0.0.2 any -ctx 1 1 "u:r:t:s0-s2:c1.c3" -P out none;'
    )


def test_insert_and_remove() -> None:
    ctx = parse_setkey_ctx('-ctx 1 1 "system_u:object_r:unlabeled_t:s0"')
    plain = "spdadd 10.0.0.1[any] 10.0.0.2[any] tcp -P out ipsec esp/transport//require;"
    labeled = with_setkey_ctx(plain, ctx)
    assert labeled == (
        'spdadd 10.0.0.1[any] 10.0.0.2[any] tcp -ctx 1 1 "system_u:object_r:unlabeled_t:s0" '
        "-P out ipsec esp/transport//require;"
    )
    assert with_setkey_ctx(labeled, None) == plain
    sa = "add -4 10.0.0.1 10.0.0.2 esp 0x201 -E null;"
    assert with_setkey_ctx(sa, ctx) == (
        'add -4 10.0.0.1 10.0.0.2 esp 0x201 -ctx 1 1 "system_u:object_r:unlabeled_t:s0" -E null;'
    )
    assert find_setkey_ctx(sa) is None


def test_doi_zero_sends_nothing() -> None:
    ctx = parse_setkey_ctx('-ctx 0 1 "u:r:t"')
    assert not ctx.sent
    assert ctx.to_sadb() is None and ctx.to_xfrm() is None


def test_comments_and_newlines() -> None:
    text = 'spdadd 10.0.0.1 10.0.0.2 any # label below\n  -ctx 1 1\n "u:r:t:s0"\n -P out none;'
    clause = find_setkey_ctx(text)
    assert clause is not None and str(clause.ctx.context) == "u:r:t:s0"


BAD = [
    # (text, column, words in the message)
    ('spdadd 1 2 any -ctx 1 x "u:r:t" -P out none;', 22, "decimal"),
    ('spdadd 1 2 any -ctx 0x1 1 "u:r:t" -P out none;', 20, "decimal"),
    ('spdadd 1 2 any -ctx 256 1 "u:r:t" -P out none;', 20, "8-bit"),
    ("spdadd 1 2 any -ctx 1 1 -P out none;", 24, "double-quoted"),
    ("spdadd 1 2 any -ctx 1 1 u:r:t -P out none;", 24, "double-quoted"),
    ('spdadd 1 2 any -ctx 1 1 "u:r:t -P out none;', 24, "unterminated"),
    ('spdadd 1 2 any -ctx 1 1 "u:r:t:s0-s1:c5.c3" -P out none;', 40, "security context"),
    ('spdadd 1 2 any -ctx 1 1 "u:r" -P out none;', 28, "security context"),
    ('spdadd 1 2 -ctx 1 1 "u:r:t" any -P out none;', 11, "upper-layer"),
    ('spdadd 1 2 any -P out none -ctx 1 1 "u:r:t";', 27, "-P"),
    ('spdadd 1 2 any -ctx 1 1 "u:r:t" -ctx 1 1 "u:r:t" -P out none;', 32, "second"),
    ('spdadd tagged "x" -ctx 1 1 "u:r:t" -P out none;', 18, "tagged"),
    ('spdadd 1 2 any -ctx 1 1 "u:r:t";', 31, "policy"),
    ('add 1 2 esp -ctx 1 1 "u:r:t" 0x201 -E null;', 12, "after the SPI"),
    ('add 1 2 esp 0x201 -E null -ctx 1 1 "u:r:t";', 26, "before -E"),
    ('delete 1 2 esp 0x201 -ctx 1 1 "u:r:t";', 21, "delete"),
    ('spdflush -ctx 1 1 "u:r:t";', 9, "spdflush"),
    ('spdad 1 2 any -ctx 1 1 "u:r:t" -P out none;', 0, "not a setkey command"),
    ("spdadd 1 2 any -P out none; spdflush;", 28, "more than one"),
    ("", 0, "no setkey command"),
]


@pytest.mark.parametrize(("text", "column", "words"), BAD)
def test_errors_point_at_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(SetkeySyntaxError) as caught:
        find_setkey_ctx(text)
    assert caught.value.offset == column, str(caught.value)
    assert words in str(caught.value)
    assert caught.value.text == text


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("", 0),
        ("-ctx", 4),
        ("-ctx 1", 6),
        ('-ctx 1 1 "u:r:t" extra', 17),
        ('ctx 1 1 "u:r:t"', 0),
        ('-ctx 1 1 "u:r:t:s0:c1024.c1"', 25),
    ],
)
def test_clause_errors(text: str, column: int) -> None:
    raises_at(SetkeySyntaxError, lambda: parse_setkey_ctx(text), column)


# -- found by fuzzing -----------------------------------------------------------------------


def test_a_huge_number_is_a_syntax_error_not_int_s_digit_limit() -> None:
    with pytest.raises(SetkeySyntaxError) as caught:
        parse_setkey_ctx("-ctx " + "1" * 5000 + ' 1 "u:r:t"')
    assert caught.value.offset == 5
    assert len(str(caught.value)) < 300
    # Leading zeros are still the number they spell.
    assert parse_setkey_ctx('-ctx 0001 00255 "u:r:t"') == SetkeyCtx(Context.parse("u:r:t"), 1, 255)


@pytest.mark.parametrize("digit", ["\u0663", "\u00b2", "\uff11", "\u0661\u0662"])
def test_numbers_are_ascii_digits_only(digit: str) -> None:
    # int() accepts these; setkey's lexer does not.
    with pytest.raises(SetkeySyntaxError) as caught:
        parse_setkey_ctx(f'-ctx {digit} 1 "u:r:t"')
    assert caught.value.offset == 5


@pytest.mark.parametrize(
    ("command", "offset"),
    [
        ("spdadd -P", 7),
        ("spdadd 10.0.0.1 10.0.0.2 -P out none;", 25),
        ("spdadd -4 10.0.0.1 any -P out none;", 23),
        ("add esp 0x201 -E null;", 4),
        ("add 10.0.0.1 esp 0x201 -E null;", 13),
    ],
)
def test_a_command_without_its_positional_arguments_is_refused(command: str, offset: int) -> None:
    # with_setkey_ctx once put a clause where find_setkey_ctx then refused it.
    ctx = SetkeyCtx(Context.parse("u:r:t"))
    for call in (lambda: find_setkey_ctx(command), lambda: with_setkey_ctx(command, ctx)):
        with pytest.raises(SetkeySyntaxError) as caught:
            call()
        assert caught.value.offset == offset


@pytest.mark.parametrize("command", ["flush;", "spdflush", 'spdadd tagged "t" -P out none;'])
def test_no_clause_is_inserted_where_setkey_has_no_place_for_it(command: str) -> None:
    assert find_setkey_ctx(command) is None
    assert with_setkey_ctx(command, None) == command
    with pytest.raises(SetkeySyntaxError) as caught:
        with_setkey_ctx(command, SetkeyCtx(Context.parse("u:r:t")))
    assert caught.value.offset == 0


def test_a_context_with_a_double_quote_is_refused_not_cut() -> None:
    # setkey's quoted string has no escapes ("[^"]*"): 'a:b:c"d"' came back as 'a:b:c'.
    context = Context.parse('a:b:c"d"')
    with pytest.raises(IpsecEncodeError) as caught:
        SetkeyCtx(context)
    assert caught.value.offset == 5


def test_a_clause_is_not_inserted_where_the_next_token_would_break_it() -> None:
    # Found by fuzzing: inserted after the SPI, the clause ran into a quoted string and
    # find_setkey_ctx refused the result ("unexpected string after -ctx").
    command = 'add 10.0.0.1 10.0.0.2 esp 0x201 "x" -E null;'
    assert find_setkey_ctx(command) is None
    with pytest.raises(SetkeySyntaxError) as caught:
        with_setkey_ctx(command, SetkeyCtx(Context.parse("u:r:t")))
    assert caught.value.offset == len("add 10.0.0.1 10.0.0.2 esp 0x201")


def test_from_wire_refuses_a_context_setkey_cannot_quote() -> None:
    with pytest.raises(IpsecEncodeError):
        SetkeyCtx.from_wire(SadbSecCtx(b'a:b:c"d"\0'))


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ('spdadd 10.0.0.1 10.0.0.2 any -ctx 1 1 "u:r:t"-P out none;', "any -P out none;"),
        ('spdadd 10.0.0.1 10.0.0.2 any -ctx 1 1 "u:r:t" -P out none;', "any -P out none;"),
        ('add 10.0.0.1 10.0.0.2 esp 0x201 -ctx 1 1 "u:r:t";', "0x201;"),
    ],
)
def test_removing_a_clause_keeps_its_neighbours_apart(command: str, expected: str) -> None:
    # Found by fuzzing: with no space after the quote, removal glued 'any' to '-P'.
    removed = with_setkey_ctx(command, None)
    assert removed.endswith(expected)
    assert find_setkey_ctx(removed) is None
