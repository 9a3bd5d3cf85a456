"""The explanation as HTML: the same account as the text and markdown (render.py), each
rule (file:line) and each cited clause a link where the caller can show it.

`render_html` returns a fragment (an `<article>`); the service's page (service/page.py)
puts it in a page with its style sheet. Every text is escaped; links come only from the
caller's `links`, which build them from the citation (never from a path in the input).
Every text goes through `escape.html`: control characters and bidi overrides from a claim
show as escapes, never as layout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from policyengine.explain import escape
from policyengine.semantics.vocabulary import DECISIONS

if TYPE_CHECKING:
    from policyengine.contract.trace import Citation
    from policyengine.explain.account import Doc, Line


@dataclass(frozen=True)
class Links:
    """Where a rule and a cited clause can be seen (None: shown without a link)."""

    rule: Callable[[str], str | None]
    source: Callable[[Citation], str | None]


NO_LINKS = Links(lambda _rule: None, lambda _source: None)


def render_html(doc: Doc, decision: str, links: Links = NO_LINKS) -> str:
    """`decision` is the result's decision word (it names the style of the verdict)."""
    tone = decision if decision in DECISIONS else "review"
    out = [
        '<article class="explanation">',
        f'<h2 class="claim-header">{_e(doc.header)}</h2>',
        f'<p class="decision decision-{tone}" role="status"><strong>{_e(doc.decision)}'
        "</strong></p>",
    ]
    for number, section in enumerate(doc.sections, start=1):
        out.append(f'<section aria-labelledby="section-{number}">')
        out.append(f'<h3 id="section-{number}">{_e(section.title)}</h3>')
        out.append('<ul class="account">')
        out += [_line(line, links) for line in section.lines]
        out.append("</ul></section>")
    out.append("</article>")
    return "\n".join(out)


def _line(line: Line, links: Links) -> str:
    classes = [f"indent-{min(line.indent, 4)}"]
    if line.style:
        classes += [f"style-{part}" for part in line.style.split()]
    text = _e(line.text)
    if line.rule is not None:
        href = links.rule(line.rule)
        if href is not None:
            text = f'<a class="rule" href="{_e(href)}">{text}</a>'
        classes.append("rule-line")
    elif line.source is not None:
        href = links.source(line.source)
        if href is not None:
            text = f'<a class="cite" href="{_e(href)}">{text}</a>'
        classes.append("cite-line")
    return f'<li class="{" ".join(classes)}">{text}</li>'


def _e(text: str) -> str:
    return escape.html(text)
