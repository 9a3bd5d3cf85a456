"""The 乙类 proportion a `pre_self_pay ceiling` row held, as the trace carries it
(`selfpay_held` on the line's step) and as `explain` shows it beside the bound, in Chinese and
English: the catalogue's own proportion, or the `pre_self_pay default` row's where the
catalogue gives none. Both back ends write the same step.

On the service's HTML page the line's pre-self-pay links the rule it names, as the page links
every rule it can show.

The policy is tests/policies/payments (../outpatient.policy: 乙类 drugs of a special-outpatient
visit at most 15%); the default-row case adds a default of 25% and a drug listed without a
proportion to a copy of it."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from policyengine.contract.steps import read_steps, step_rules, step_sources
from policyengine.engine import Engine
from policyengine.explain import render as explain
from policyengine.prepared import BACKENDS
from policyengine.service.app import create_app
from policyengine.service.config import ServiceConfig
from tests.support import ROOT

PAYMENTS = ROOT / "tests" / "policies" / "payments"
HELD_WORDS = ("封顶", "目录自付比例", "缺省自付比例", "held at the ceiling", "catalogue proportion")


def _claim(visit: str, *items: tuple[str, str]) -> dict[str, Any]:
    """A claim of `visit` at a level-3 hospital, one drug line per (code, amount)."""
    return {
        "id": "PM-HELD",
        "region": "payments",
        "person": {
            "id": "P1",
            "scheme": "employee",
            "status": "working",
            "birth_date": "1960-05-02",
            "sex": "male",
        },
        "visit": {
            "type": visit,
            "date": "2024-03-20",
            "hospital": {"id": "H3", "level": 3, "kind": "general"},
            "doctor": {"id": "D1", "title": "chief"},
            "diagnoses": ["I10"],
        },
        "items": [
            {"line": n, "code": code, "kind": "drug", "quantity": "1", "unit_price": amount,
             "amount": amount, "days_supply": 10}
            for n, (code, amount) in enumerate(items, 1)
        ],
    }  # fmt: skip


def _row(path: Path, start: str) -> str:
    """`file:line` of the first line of `path` that starts with `start` (as rules name it)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    (number,) = [i for i, line in enumerate(lines, 1) if line.strip().startswith(start)]
    return f"{path.parent.name}/{path.name}:{number}"


def _settled(root: Path, claim: dict[str, Any]) -> dict[str, Any]:
    """The traced result, the same on both back ends (or the test fails here)."""
    compiled, interpreted = (
        Engine.load(root, backend=backend).settle(claim, trace=True)  # type: ignore[arg-type]
        for backend in BACKENDS
    )
    assert compiled == interpreted
    return dict(compiled)


def _explained(claim: dict[str, Any], result: dict[str, Any], lang: str) -> list[str]:
    """The lines of `explain`'s text (wide enough that none wraps)."""
    doc = explain.build(claim, result, lang)  # type: ignore[arg-type]
    return explain.render_text(doc, width=200, color=False).splitlines()


def _block(lines: list[str], code: str) -> list[str]:
    """A line item's lines in the account: its header (`… D003 · …`) to the next header."""
    start = next(i for i, line in enumerate(lines) if re.search(rf" {code} ", line))
    end = next(i for i, line in enumerate(lines[start + 1 :], start + 1) if line[:4] != "    ")
    return lines[start:end]


def test_a_held_catalogue_proportion_is_shown_beside_the_bound() -> None:
    """D003 (listed at 20%) is held at 15%: the trace keeps the catalogue's 20% and its row,
    and explain says both; D004 (5%) is below the bound and says nothing of it."""
    catalogue = _row(PAYMENTS / "catalogue.csv", "D003,")
    ceiling = _row(PAYMENTS / "outpatient.policy", "when visit special_outpatient")
    claim = _claim("special_outpatient", ("D003", "200.00"), ("D004", "100.00"))
    result = _settled(PAYMENTS, claim)
    held, below = read_steps(result).lines  # type: ignore[arg-type]
    assert (held["selfpay"], held["selfpay_rule"], held["pre_self_pay"]) == (
        "0.15",
        ceiling,
        "30.00",
    )
    assert held.get("selfpay_held") == {
        "origin": "catalogue",
        "selfpay": "0.2",
        "rule": catalogue,
        "source": None,
    }
    assert "selfpay_held" not in below
    assert catalogue in step_rules(held) and ceiling in step_rules(held)

    zh, en = (_explained(claim, result, lang) for lang in ("zh", "en"))
    assert f"      目录自付比例 20% ({catalogue}), 上限 15% 封顶" in _block(zh, "D003")
    assert f"      catalogue proportion 20% ({catalogue}), held at the ceiling 15%" in _block(
        en, "D003"
    )
    for lines in (zh, en):
        assert not any(word in line for line in _block(lines, "D004") for word in HELD_WORDS)


def test_no_ceiling_text_where_no_ceiling_row_matches() -> None:
    """An ordinary outpatient visit: no ceiling row matches, D003 keeps the catalogue's 20%
    and neither the trace nor explain speaks of a ceiling."""
    claim = _claim("outpatient", ("D003", "200.00"))
    result = _settled(PAYMENTS, claim)
    (line,) = read_steps(result).lines  # type: ignore[arg-type]
    assert (line["selfpay"], line["pre_self_pay"]) == ("0.2", "40.00")
    assert "selfpay_held" not in line
    for lang in ("zh", "en"):
        text = "\n".join(_explained(claim, result, lang))
        assert not any(word in text for word in HELD_WORDS), lang


@pytest.fixture(scope="module")
def with_default(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The payments policy with a `pre_self_pay default` of 25% and a 乙类 drug D005 the
    catalogue lists without a proportion."""
    root = tmp_path_factory.mktemp("held") / "payments"
    shutil.copytree(PAYMENTS, root, ignore=shutil.ignore_patterns("tests"))
    with (root / "catalogue.csv").open("a", encoding="utf-8") as catalogue:
        catalogue.write("D005,乙类药(目录未列自付比例),drug_e,drug,B" + "," * 18 + "\n")
    (root / "default.policy").write_text(
        'pre_self_pay default "乙类先行自付比例(目录未列时)" {\n'
        '  always => 25% provisional "测试:目录未列时先行自付25%"\n'
        "}\n",
        encoding="utf-8",
    )
    return root


def test_a_held_default_proportion_names_and_cites_its_row(with_default: Path) -> None:
    """D005 has no proportion of its own: the default's 25% is held at 15%, and the trace and
    explain name the default row and its (provisional) source."""
    default = _row(with_default / "default.policy", "always => 25%")
    claim = _claim("special_outpatient", ("D005", "100.00"))
    result = _settled(with_default, claim)
    (line,) = read_steps(result).lines  # type: ignore[arg-type]
    assert (line["selfpay"], line["pre_self_pay"]) == ("0.15", "15.00")
    held = line.get("selfpay_held")
    assert held is not None
    assert (held["origin"], held["selfpay"], held["rule"]) == ("default", "0.25", default)
    assert held["source"] == {"provenance": "provisional", "note": "测试:目录未列时先行自付25%"}
    assert default in step_rules(line) and held["source"] in list(step_sources(line))
    assert Decimal(result["totals"]["pre_self_pay"]) == Decimal("15.00")

    zh, en = (_block(_explained(claim, result, lang), "D005") for lang in ("zh", "en"))
    row = zh.index(f"      目录未列,缺省自付比例 25% ({default}), 上限 15% 封顶")
    assert zh[row + 1] == "        ⚠ 暂定: 测试:目录未列时先行自付25%"
    row = en.index(
        f"      default proportion (none in the catalogue) 25% ({default}), held at the ceiling 15%"
    )
    assert en[row + 1] == "        ⚠ provisional: 测试:目录未列时先行自付25%"


class _Links(HTMLParser):
    """A page's links as (class, href, text), the text as a reader sees it (unescaped)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self._open: tuple[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            attributes = dict(attrs)
            self._open = (attributes.get("class") or "", attributes.get("href") or "")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.found.append((*self._open, "".join(self._text)))
            self._open = None


def _links(page: str) -> list[tuple[str, str, str]]:
    parser = _Links()
    parser.feed(page)
    return parser.found


def test_the_pre_self_pay_line_links_its_rule_on_the_page() -> None:
    """The service's HTML account: D003's pre-self-pay names the ceiling row that set its 15%
    and links it as the page links every rule it can show — to the rule file at that line,
    where the row is the one marked. D004's names its catalogue row, which the page does not
    serve: its text stays, without a link."""
    ceiling = _row(PAYMENTS / "outpatient.policy", "when visit special_outpatient")
    file, _, number = ceiling.rpartition(":")
    catalogue = _row(PAYMENTS / "catalogue.csv", "D004,")
    claim = _claim("special_outpatient", ("D003", "200.00"), ("D004", "100.00"))
    said = {
        "zh": f"先行自付 30.00 (自付比例 15%, {ceiling})",
        "en": f"pre-self-pay 30.00 (self-pay proportion 15%, {ceiling})",
    }
    config = ServiceConfig(policy=str(PAYMENTS), reload_seconds=0)
    with TestClient(create_app(config)) as client:
        for lang, text in said.items():
            page = client.post(f"/v1/explain?format=html&lang={lang}", json=claim)
            assert page.status_code == 200, page.text
            query = urlencode({"region": "payments", "file": file, "line": number, "lang": lang})
            href = f"/explain/rule?{query}#line-{number}"
            assert ("rule", href, text) in _links(page.text), lang
            assert f"5%, {catalogue})" in page.text
            assert not any(catalogue in shown for _c, _h, shown in _links(page.text))
            shown = client.get(href.partition("#")[0])
            assert shown.status_code == 200
            marked = re.search(
                rf'<p class="source-line hit" id="line-{number}">(.*?)</p>', shown.text
            )
            assert marked is not None and "when visit special_outpatient" in marked[1]
