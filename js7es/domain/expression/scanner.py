"""Character-level pieces of the expression grammar: white space, identifiers, numbers, raw strings.

Each scanner takes the text and a position and returns what it read and the position after it.
"""

from __future__ import annotations

from decimal import Context, Decimal

MAX_NUMBER_LENGTH = 1000  # digits of a numeric literal; keeps numbers printable and arithmetic cheap
_EXACT = Context(prec=MAX_NUMBER_LENGTH + 10)  # literals are exact


class ExpressionSyntaxError(Exception):
    """Internal: carries a syntax error to the public parse function, which returns a Problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def is_identifier_start(c: str) -> bool:
    return c.isalpha() or c == "_"


def is_identifier_part(c: str) -> bool:
    return c.isalnum() or c == "_"


def is_simple_identifier(name: str) -> bool:
    return bool(name) and is_identifier_start(name[0]) and all(is_identifier_part(c) for c in name[1:])


def skip_white(text: str, pos: int) -> int:
    """Skip blanks, line ends, `/* … */` and `// …` comments (JS7's `w`)."""
    length = len(text)
    while pos < length:
        c = text[pos]
        if c in " \t\r\n":
            pos += 1
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                raise ExpressionSyntaxError("Unterminated comment /*", pos)
            pos = end + 2
        elif text.startswith("//", pos):
            end = text.find("\n", pos)
            pos = length if end < 0 else end + 1
        else:
            break
    return pos


def scan_simple_identifier(text: str, pos: int) -> tuple[str, int]:
    start = pos
    if pos >= len(text) or not is_identifier_start(text[pos]):
        raise ExpressionSyntaxError("Expected an identifier", pos)
    pos += 1
    while pos < len(text) and is_identifier_part(text[pos]):
        pos += 1
    return text[start:pos], pos


def scan_identifier(text: str, pos: int) -> tuple[str, int, bool]:
    """A simple identifier or one in backticks (`` `a b` ``; a doubled backtick stands for one).

    Returns the name, the position after it and whether backticks were used.
    """
    if not text.startswith("`", pos):
        name, pos = scan_simple_identifier(text, pos)
        return name, pos, False
    parts = []
    while text.startswith("`", pos):
        end = pos + 1
        while end < len(text) and text[end] not in "`\n":
            end += 1
        if end >= len(text) or text[end] != "`":
            raise ExpressionSyntaxError("Expected a closing backtick (`)", end)
        parts.append(text[pos + 1 : end])
        pos = end + 1
    name = "`".join(parts)
    if not name:
        raise ExpressionSyntaxError("Identifier in backticks (`) must not be empty", pos)
    return name, pos, True


def scan_number(text: str, pos: int) -> tuple[int | Decimal, int]:
    """`-?digits(.digits)?`, exact (JS7's BigDecimal constants are not rounded)."""
    start = pos
    if text.startswith("-", pos):
        pos += 1
    digits_start = pos
    while pos < len(text) and "0" <= text[pos] <= "9":
        pos += 1
    if pos == digits_start:
        raise ExpressionSyntaxError("Expected a number", start)
    if text.startswith(".", pos) and pos + 1 < len(text) and "0" <= text[pos + 1] <= "9":
        pos += 1
        while pos < len(text) and "0" <= text[pos] <= "9":
            pos += 1
    literal = text[start:pos]
    if len(literal) > MAX_NUMBER_LENGTH:
        raise ExpressionSyntaxError(f"Number has more than {MAX_NUMBER_LENGTH} digits", start)
    if "." not in literal:
        return int(literal), pos
    number = Decimal(literal)
    if number == number.to_integral_value():
        return int(number), pos
    return number.normalize(_EXACT), pos


def scan_single_quoted(text: str, pos: int) -> tuple[str, int]:
    """`'raw text'`; n quotes delimit text that contains runs of fewer than n quotes (`''it's''`).

    There are no escapes; `\\r\\n` becomes `\\n`. An empty string must be written `""`.
    """
    start = pos
    n = 0
    while text.startswith("'", pos):
        n += 1
        pos += 1
    content_start = pos
    while True:
        end = text.find("'", pos)
        if end < 0:
            delimiter = "'" * n
            raise ExpressionSyntaxError(
                f"Expected properly terminated {delimiter}…{delimiter}-quoted string"
                " — or use \"\" (but not '') for the empty string",
                start,
            )
        run_end = end
        while run_end < len(text) and text[run_end] == "'":
            run_end += 1
        if run_end - end >= n:
            if end == content_start:
                raise ExpressionSyntaxError("Use \"\" (but not '') for the empty string", start)
            return text[content_start:end].replace("\r\n", "\n"), end + n
        pos = run_end
