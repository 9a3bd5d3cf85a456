"""Text from claims and results shown to people: nothing in it may act as anything but text.

An item name holding `\r\nFAKE LINE: 结论: 全额支付` forged a conclusion line in `explain`;
escape sequences in a claim `id` reached the terminal. Every rendering of an explanation
(rich text, markdown, and the service's HTML page) passes claim-derived text through here:

- `visible(text)`: control characters (C0, DEL, C1), line and paragraph separators and the
  bidirectional overrides and isolates are written as escapes (`\\r`, `\\x1b`, `\\u202e`),
  so a text is one line that reads as what it holds;
- `markdown(text)`: `visible`, then the characters markdown would read as markup (and raw
  HTML) backslash-escaped;
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


def html(text: str) -> str:
    return _html.escape(visible(text), quote=True)
