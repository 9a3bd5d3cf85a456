"""The auditors' page at /explain, in a real headless Chromium (Debian's, driven through
Selenium WebDriver and Debian's chromedriver) against `policyengine serve`.

A claim pasted, uploaded, or opened from the ledger; the decision, money split, findings
and steps; a citation followed to its document with the quoted words highlighted in their
clause; the rule file at its line; English; no request leaves the server; labels, language
and landmarks for assistive technology; the print layout. A failing step leaves a
screenshot (its path is in the test's output).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from policyengine.clauses import normalise
from tests.servers import chromium, screenshot_on_failure, serve
from tests.support import EXAMPLES

CLAIM = (EXAMPLES / "claim.json").read_text(encoding="utf-8")
QUOTE = "对重复开药、超量开药、超禁忌症使用、重复开具诊疗项目等发生的医疗费用预警拦截"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ledger = tmp_path_factory.mktemp("page") / "ledger.db"
    with serve("--ledger", str(ledger), "--reload-seconds", "0") as base:
        settled = httpx.post(f"{base}/v1/ledger/claims", content=CLAIM.encode(), timeout=30)
        assert settled.status_code == 200
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


def by_css(driver: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def all_css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    found: list[Any] = driver.find_elements(By.CSS_SELECTOR, selector)
    return found


def follow(driver: Any, element: Any) -> None:
    """Click, and wait until the next page has replaced this one and finished loading (a
    mark set on this page's window is gone there)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    driver.execute_script("window.__policyengineOld = true;")
    element.click()

    def arrived(_driver: Any) -> bool:
        done: bool = driver.execute_script(
            "return window.__policyengineOld === undefined && document.readyState === 'complete'"
        )
        return done

    WebDriverWait(driver, 30, ignored_exceptions=(WebDriverException,)).until(arrived)


def submit_claim(driver: Any, text: str) -> None:
    area = by_css(driver, "textarea#claim")
    driver.execute_script("arguments[0].value = arguments[1];", area, text)
    follow(driver, by_css(driver, "form.claim button[type=submit]"))


def test_a_pasted_claim_is_explained_and_its_clause_shown(server: str, browser: Any) -> None:
    with screenshot_on_failure(browser, "pasted-claim"):
        browser.get(f"{server}/explain")
        assert by_css(browser, "html").get_attribute("lang") == "zh-CN"
        assert browser.title == "理赔审核说明"
        submit_claim(browser, CLAIM)
        assert "部分拒付" in by_css(browser, ".decision").text
        money = {
            row.find_element("css selector", "th").text: row.find_element("css selector", "td").text
            for row in all_css(browser, "table.money tbody tr")
        }
        assert money["合计"] == "3.68" and money["拒付"] == "1.68" and money["个人负担"] == "2.00"
        headings = [h.text for h in all_css(browser, "article.explanation h3")]
        assert headings[:4] == ["费用明细", "审核发现", "计算步骤", "结算"]
        rules = [a.text for a in all_css(browser, "a.rule")]
        assert "规则 tianjin/audit.policy:4" in rules
        # the finding's citation: its document, the clause marked, the quote highlighted
        citation = next(a for a in all_css(browser, "a.cite") if QUOTE in a.text)
        follow(browser, citation)
        assert browser.current_url.endswith("#hit")
        assert (
            "天津市人民政府办公厅关于加强医疗机构药品供应保障的实施意见"
            in by_css(browser, "h1").text
        )
        hit = by_css(browser, "mark#hit")
        marked = "".join(m.text for m in all_css(browser, "mark"))
        assert normalise(QUOTE) in normalise(marked)
        clause_line = hit.find_element("xpath", "./ancestor::p[1]")
        assert "in-clause" in clause_line.get_attribute("class")
        first_clause_line = by_css(browser, "#clause").text
        assert first_clause_line.lstrip("#* ").startswith("5")  # 三(二)5 starts at item 5
        assert hit.is_displayed()
        browser.back()
        rule = next(a for a in all_css(browser, "a.rule") if a.text.endswith("audit.policy:4"))
        follow(browser, rule)
        line = by_css(browser, "#line-4")
        assert "hit" in line.get_attribute("class") and "duplicate_dispensing" in line.text


def test_english_upload_and_a_settled_claim(server: str, browser: Any, tmp_path: Path) -> None:
    with screenshot_on_failure(browser, "english-upload-settled"):
        browser.get(f"{server}/explain?lang=en")
        assert by_css(browser, "html").get_attribute("lang") == "en"
        upload = tmp_path / "claim.json"
        upload.write_text(CLAIM, encoding="utf-8")
        by_css(browser, "input#claim-file").send_keys(str(upload))
        follow(browser, by_css(browser, "form.claim button[type=submit]"))
        assert "partial" in by_css(browser, ".decision").text
        assert browser.title == "Claim decision explained"
        # the language switch posts the same claim again, in Chinese
        follow(browser, by_css(browser, "form.switch button"))
        assert by_css(browser, "html").get_attribute("lang") == "zh-CN"
        assert "部分拒付" in by_css(browser, ".decision").text
        # a claim settled in the ledger, opened by its id
        from selenium.webdriver.support.select import Select

        browser.get(f"{server}/explain")
        Select(by_css(browser, "select#settled-region")).select_by_value("tianjin")
        by_css(browser, "input#settled-id").send_keys("TJ-2024-000001")
        follow(browser, by_css(browser, "form.settled button[type=submit]"))
        assert "已结算" in by_css(browser, "main").text
        assert "部分拒付" in by_css(browser, ".decision").text


def test_a_malformed_claim_lists_every_problem_with_its_path(server: str, browser: Any) -> None:
    broken = json.loads(CLAIM)
    broken["items"][0]["amount"] = "9.99"
    del broken["person"]["sex"]
    with screenshot_on_failure(browser, "malformed"):
        browser.get(f"{server}/explain")
        submit_claim(browser, json.dumps(broken, ensure_ascii=False))
        alert = by_css(browser, "[role=alert]")
        paths = [code.text for code in alert.find_elements("css selector", "code")]
        assert sorted(paths) == ["items[0].amount", "person.sex"]
        # what was pasted is kept in the form, to be corrected
        assert "9.99" in by_css(browser, "textarea#claim").get_attribute("value")


def test_accessible_self_contained_and_printable(server: str, browser: Any) -> None:
    with screenshot_on_failure(browser, "accessible-printable"):
        browser.get(f"{server}/explain")
        submit_claim(browser, CLAIM)
        # every form control has a label; one main landmark; a skip link first
        for control in all_css(browser, "input:not([type=hidden]), select, textarea"):
            name = control.get_attribute("id")
            assert name and all_css(browser, f"label[for='{name}']"), name
        assert len(all_css(browser, "main")) == 1
        assert by_css(browser, "body a").get_attribute("href").endswith("#main")
        # nothing was fetched from anywhere but this server
        origins = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert all(url.startswith(server) for url in origins)
        policy = httpx.get(f"{server}/explain", timeout=30).headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        # the print layout leaves the forms out and keeps the explanation
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        assert not by_css(browser, "form.claim").is_displayed()
        assert by_css(browser, "article.explanation").is_displayed()
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        pdf = base64.b64decode(browser.print_page())
        assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
