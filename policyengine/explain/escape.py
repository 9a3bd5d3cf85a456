"""Text from claims and results shown to people: nothing in it may act as anything but text.

An item name holding `\r\nFAKE LINE: 结论: 全额支付` forged a conclusion line in `explain`;
escape sequences in a claim `id` reached the terminal. Every rendering of an explanation
(rich text, markdown, and the service's HTML page) passes claim-derived text through here:

- `visible(text)`: control characters (C0, DEL, C1), line and paragraph separators and the
  bidirectional overrides and isolates are written as escapes (`\\r`, `\\x1b`, `\\u202e`),
  so a text is one line that reads as what it holds;
- `markdown(text)`: `visible`, then the characters markdown would read as markup (and raw
  HTML) backslash-escaped; `markdown_item(text)` also escapes what would make the start of
  a list item's text a block of its own (`- + 5 pt` is a nested list; `- \\+ 5 pt` is "+ 5 pt");
- `html(text)`: `visible`, then HTML-escaped, quotes included.
"""

from __future__ import annotations

import html as _html
import re

# Cc (C0 controls, DEL, C1 controls), Zl/Zp separators, and the bidi controls that reorder
# what is displayed (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069)
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# what markdown reads as markup or raw HTML; `_` only where it could open or close emphasis
# (CommonMark never reads an underscore between letters or digits as emphasis)
_MARKDOWN = re.compile(r"([\\`*\[\]<>|~&]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str) -> str:
    return _UNSAFE.sub(_escape, text)


def markdown(text: str) -> str:
    return _MARKDOWN.sub(lambda match: "\\" + match.group(), visible(text))


# what, at the start of a list item's text, opens another block: a bullet (+ - *), a heading,
# a quotation, a thematic break or an ordered item (`1.` `1)`)
_BLOCK_START = re.compile(r"^(?:[+*#>=-]|[0-9]{1,9}(?=[.)]))")


def markdown_item(text: str) -> str:
    escaped = markdown(text)
    match = _BLOCK_START.match(escaped)
    if match is None:
        return escaped
    end = match.end()
    if match.group().isdigit():  # `1.` → `1\.`
        return f"{escaped[:end]}\\{escaped[end:]}"
    return f"\\{escaped}"


def html(text: str) -> str:
    return _html.escape(visible(text), quote=True)
