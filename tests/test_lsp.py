"""The language server (issue 18.2) driven by a real client over stdio: pygls's
LanguageClient starts `python -m policyengine.cli.main lsp` as a process and speaks JSON-RPC
to it — initialize, didOpen, the diagnostics it publishes (codes, messages and ranges as
`check` gives them, positions in UTF-16 as the protocol says), didChange, hover, definition,
completion, formatting and the outline.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

from policyengine.tools.fmt import format_text
from tests.support import POLICIES

TIMEOUT = 60


class Session:
    """A client connected to a language server process, and what the server published."""

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.published: dict[str, list[types.Diagnostic]] = {}
        self.arrived = asyncio.Condition()

    async def diagnostics(self, uri: str, wanted: Callable[[list[types.Diagnostic]], bool]) -> Any:
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(
                    lambda: uri in self.published and wanted(self.published[uri])
                ),
                TIMEOUT,
            )
        return self.published[uri]

    def open(self, path: Path, text: str) -> str:
        uri = from_fs_path(str(path)) or ""
        item = types.TextDocumentItem(uri=uri, language_id="policy", version=1, text=text)
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
        return uri

    def change(self, uri: str, text: str, version: int) -> None:
        document = types.VersionedTextDocumentIdentifier(uri=uri, version=version)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=document,
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )


def run_session(root: Path, script: Callable[[Session], Awaitable[None]]) -> None:
    async def main() -> None:
        client = LanguageClient("policyengine-tests", "1")
        session = Session(client)

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        async def published(params: types.PublishDiagnosticsParams) -> None:
            async with session.arrived:
                session.published[params.uri] = params.diagnostics
                session.arrived.notify_all()

        await client.start_io(sys.executable, "-m", "policyengine.cli.main", "lsp")
        try:
            await asyncio.wait_for(
                client.initialize_async(
                    types.InitializeParams(
                        capabilities=types.ClientCapabilities(),
                        root_uri=from_fs_path(str(root)),
                    )
                ),
                TIMEOUT,
            )
            client.initialized(types.InitializedParams())
            await script(session)
            await asyncio.wait_for(client.shutdown_async(None), TIMEOUT)
        finally:
            client.exit(None)  # the server exits on it (with status 1 if not shut down)
            await asyncio.wait_for(client.stop(), TIMEOUT)

    asyncio.run(main())


@pytest.fixture
def tianjin(tmp_path: Path) -> Path:
    for name in ("national", "tianjin"):
        shutil.copytree(POLICIES / name, tmp_path / name, ignore=shutil.ignore_patterns("tests"))
    return tmp_path / "tianjin"


def position(text: str, needle: str, into: int = 0) -> types.Position:
    """The protocol's position (UTF-16 units) `into` characters into the first `needle`."""
    offset = text.index(needle) + into
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return types.Position(line=line, character=len(text[start:offset].encode("utf-16-le")) // 2)


def test_diagnostics_as_you_type(tianjin: Path) -> None:
    path = tianjin / "benefits.policy"
    good = path.read_text(encoding="utf-8")
    # an astral character (U+20000) before the slip on its line: 2 UTF-16 units, 1 character
    bad = good.replace(
        'let employee_inpatient_deductible "职工住院首次起付线" = by level 500 元',
        'let employee_inpatient_deductible "𠀀住院起付线" = by level ５00 元',
    )

    async def script(session: Session) -> None:
        uri = session.open(path, bad)
        found = await session.diagnostics(uri, lambda d: len(d) > 0)
        assert [(d.code, d.source, d.severity) for d in found] == [
            ("P004", "policyengine", types.DiagnosticSeverity.Error)
        ]
        assert found[0].message.startswith("`５` (FULLWIDTH DIGIT FIVE) is not an ASCII digit")
        assert "\nhelp: write `500`" in found[0].message
        start = position(bad, "５00")
        assert found[0].range == types.Range(
            start=start, end=types.Position(line=start.line, character=start.character + 1)
        )
        # the figure's declaration is lost to the syntax error: no N001 where it is used,
        # and no R005 for the policy (every file of the policy is published, clean ones empty)
        policy_uri = from_fs_path(str(tianjin / "policy.policy")) or ""
        assert list(await session.diagnostics(policy_uri, lambda d: True)) == []
        session.change(uri, good, 2)
        assert list(await session.diagnostics(uri, lambda d: not d)) == []

    run_session(tianjin.parent, script)


def test_hover_definition_completion_formatting_outline(tianjin: Path) -> None:
    path = tianjin / "benefits.policy"
    text = path.read_text(encoding="utf-8")

    async def script(session: Session) -> None:
        client = session.client
        uri = session.open(path, text)
        document = types.TextDocumentIdentifier(uri=uri)
        await session.diagnostics(uri, lambda d: True)

        used = position(text, "resident_inpatient_uplift from", 3)
        hover = await client.text_document_hover_async(
            types.HoverParams(text_document=document, position=used)
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        shown = hover.contents.value
        assert shown.startswith("**let** `resident_inpatient_uplift` 居民住院支付比例提高 — points")
        assert "= `by level 0 pt / 5 pt / 10 pt`" in shown
        assert (
            "cite TJ14 一(一) “居民医保住院报销比例三级医院提高10个百分点、二级医院提高5个百分点”"
            in shown
        )
        # the full text of the clause, the quoted words in bold
        assert "**居民医保住院报销比例三级医院提高10个百分点、二级医院提高5个百分点**" in shown
        assert "医疗保障制度体系不断完善" in shown

        row = position(text, "when scheme employee => 7500 元", 5)
        hover = await client.text_document_hover_async(
            types.HoverParams(text_document=document, position=row)
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert hover.contents.value.startswith("**cap** `outpatient` 门诊最高支付限额 — money")
        assert "= `7500 元` from 2019-01-01" in hover.contents.value

        found = await client.text_document_definition_async(
            types.DefinitionParams(text_document=document, position=used)
        )
        assert isinstance(found, list) and [(d.uri, d.range.start) for d in found] == [
            (uri, position(text, "let resident_inpatient_uplift", 4))
        ]
        source = position(text, "cite TJ14", 6)
        found = await client.text_document_definition_async(
            types.DefinitionParams(text_document=document, position=source)
        )
        header = (tianjin / "policy.policy").read_text(encoding="utf-8")
        assert isinstance(found, list) and [(d.uri, d.range.start) for d in found] == [
            (from_fs_path(str(tianjin / "policy.policy")), position(header, "source TJ14", 7))
        ]
        clause = position(text, "cite TJ14 一(一)", 11)
        found = await client.text_document_definition_async(
            types.DefinitionParams(text_document=document, position=clause)
        )
        plan = tianjin / "sources" / "tianjin-2021-14th-five-year-plan.md"
        heading = plan.read_text(encoding="utf-8").split("\n").index("(一)发展基础")
        assert isinstance(found, list) and [(d.uri, d.range.start.line) for d in found] == [
            (from_fs_path(str(plan)), heading)
        ]

        typed = text.replace(
            "\nlet resident_inpatient_base", "\n  cite \nlet resident_inpatient_base"
        )
        session.change(uri, typed, 2)
        listed = await client.text_document_completion_async(
            types.CompletionParams(text_document=document, position=position(typed, "  cite \n", 7))
        )
        assert isinstance(listed, types.CompletionList)
        assert [i.label for i in listed.items] == ["TJ14", "TJ2018"]
        typed = typed.replace("  cite \n", "  cite TJ14 \n")
        session.change(uri, typed, 3)
        listed = await client.text_document_completion_async(
            types.CompletionParams(text_document=document, position=position(typed, "TJ14 \n", 5))
        )
        assert isinstance(listed, types.CompletionList)
        assert [i.label for i in listed.items][:3] == ["一", "一(一)", "一(二)"]

        messy = text.replace("=> 800 元", "=>800元").replace("  complete over", "complete  over")
        session.change(uri, messy, 4)
        edits = await client.text_document_formatting_async(
            types.DocumentFormattingParams(
                text_document=document,
                options=types.FormattingOptions(tab_size=2, insert_spaces=True),
            )
        )
        assert edits is not None and len(edits) == 1
        assert edits[0].new_text == format_text(messy).text == text

        symbols = await client.text_document_document_symbol_async(
            types.DocumentSymbolParams(text_document=document)
        )
        assert symbols is not None
        names = [s.name for s in symbols if isinstance(s, types.DocumentSymbol)]
        assert names[:4] == [
            "deductible outpatient",
            "deductible special_outpatient",
            "let employee_inpatient_deductible",
            "deductible inpatient",
        ]
        first = symbols[0]
        assert isinstance(first, types.DocumentSymbol) and first.children is not None
        assert [c.name for c in first.children] == [
            "when scheme employee, status working",
            "when scheme employee, status retired",
            "when scheme resident",
        ]

    run_session(tianjin.parent, script)
