"""The language server (`policyengine lsp`, over standard input and output), on pygls.

A rule file belongs to the policy directory it is in; each change re-checks that policy
(after a pause in typing) with the editor's unsaved texts, and publishes the diagnostics of
every file of the policy and its layers — the codes, messages and places of `policyengine
check`, with the hint and related places. Hover, go to definition and the outline read the
last analysis (analysis.py); completion reads the text as it is (completion.py); formatting
is `policyengine fmt` (tools/fmt.py). pygls speaks the protocol (on lsprotocol's types): a
well-kept library, used by other language servers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument

from policyengine._version import __version__
from policyengine.diagnostics import Diagnostic
from policyengine.span import Span
from policyengine.tools.fmt import format_text
from policyengine.tools.lsp.analysis import Analysis, Symbol
from policyengine.tools.lsp.completion import complete

# Seconds without a change before a policy is checked again.
PAUSE = 0.25
_COMPLETION_KINDS = {
    "keyword": types.CompletionItemKind.Keyword,
    "figure": types.CompletionItemKind.Constant,
    "source": types.CompletionItemKind.File,
    "clause": types.CompletionItemKind.Reference,
    "fact": types.CompletionItemKind.Field,
    "value": types.CompletionItemKind.EnumMember,
    "condition": types.CompletionItemKind.Enum,
    "kind": types.CompletionItemKind.Class,
    "parameter": types.CompletionItemKind.Property,
}
_SYMBOL_KINDS = {
    "module": types.SymbolKind.Module,
    "file": types.SymbolKind.File,
    "enum": types.SymbolKind.Enum,
    "package": types.SymbolKind.Package,
    "constant": types.SymbolKind.Constant,
    "struct": types.SymbolKind.Struct,
    "function": types.SymbolKind.Function,
    "event": types.SymbolKind.Event,
    "field": types.SymbolKind.Field,
}


class PolicyServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "policyengine", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full
        )
        self.analyses: dict[Path, tuple[tuple[tuple[str, int], ...], Analysis]] = {}
        self.changes: dict[Path, int] = {}

    # ------------------------------------------------------------ analyses

    def analysis(self, directory: Path) -> Analysis:
        """The analysis of a policy as the editor holds its files (kept while they stand)."""
        overlay = {
            path: document.source
            for document in self.workspace.text_documents.values()
            if (path := _path(document.uri)) is not None and path.suffix == ".policy"
        }
        key = tuple(sorted((str(p), hash(text)) for p, text in overlay.items()))
        cached = self.analyses.get(directory)
        if cached is None or cached[0] != key:
            cached = (key, Analysis(directory, overlay))
            self.analyses[directory] = cached
        return cached[1]

    def publish(self, directory: Path) -> None:
        analysis = self.analysis(directory)
        for display, found in analysis.diagnostics().items():
            path = analysis.path(display)
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=from_fs_path(str(path)) or str(path),
                    diagnostics=[self._diagnostic(analysis, d) for d in found],
                )
            )

    async def changed(self, uri: str) -> None:
        """Check the document's policy again once typing pauses."""
        path = _path(uri)
        if path is None:
            return
        directory = path.parent
        count = self.changes.get(directory, 0) + 1
        self.changes[directory] = count
        await asyncio.sleep(PAUSE)
        if self.changes.get(directory) == count:
            self.publish(directory)

    # ------------------------------------------------------------ positions

    def lines(self, analysis: Analysis, display: str) -> list[str]:
        path = analysis.path(display)
        uri = from_fs_path(str(path)) or ""
        document = self.workspace.text_documents.get(uri)
        if document is not None:
            return [line.rstrip("\r\n") for line in document.lines]
        source = analysis.loaded.texts.get(display)
        if source is not None:
            return source.text.split("\n")
        try:
            return path.read_text(encoding="utf-8", errors="replace").split("\n")
        except OSError:
            return []

    def range(self, analysis: Analysis, span: Span) -> types.Range:
        lines = self.lines(analysis, span.file)
        return types.Range(
            start=self._position(lines, span.line, span.col),
            end=self._position(lines, span.end_line, span.end_col),
        )

    def _position(self, lines: list[str], line: int, col: int) -> types.Position:
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        units = self.workspace.position_codec.client_num_units(text[: max(col - 1, 0)])
        return types.Position(line=max(line - 1, 0), character=units)

    def location(self, analysis: Analysis, span: Span) -> types.Location:
        path = analysis.path(span.file)
        return types.Location(uri=from_fs_path(str(path)) or "", range=self.range(analysis, span))

    def _diagnostic(self, analysis: Analysis, diagnostic: Diagnostic) -> types.Diagnostic:
        related = [
            types.DiagnosticRelatedInformation(
                location=self.location(analysis, r.span), message=r.message
            )
            for r in diagnostic.related
        ]
        hint = f"\nhelp: {diagnostic.hint}" if diagnostic.hint else ""
        return types.Diagnostic(
            range=self.range(analysis, diagnostic.span),
            message=diagnostic.message + hint,
            severity=types.DiagnosticSeverity.Error
            if diagnostic.is_error
            else types.DiagnosticSeverity.Warning,
            code=diagnostic.code,
            source="policyengine",
            related_information=related or None,
        )

    def at(self, uri: str, position: types.Position) -> tuple[Analysis, str, int, int] | None:
        """The analysis, file and 1-based line and column of a position in a document."""
        path = _path(uri)
        if path is None:
            return None
        analysis = self.analysis(path.parent)
        display = analysis.display(path)
        if display is None:
            return None
        document = self.workspace.get_text_document(uri)
        where = document.position_from_client_units(position)
        return analysis, display, where.line + 1, where.character + 1


server = PolicyServer()


def _path(uri: str) -> Path | None:
    path = to_fs_path(uri)
    return Path(path) if path else None


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: PolicyServer, params: types.DidOpenTextDocumentParams) -> None:
    path = _path(params.text_document.uri)
    if path is not None:
        ls.publish(path.parent)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: PolicyServer, params: types.DidChangeTextDocumentParams) -> None:
    await ls.changed(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: PolicyServer, params: types.DidSaveTextDocumentParams) -> None:
    await ls.changed(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: PolicyServer, params: types.HoverParams) -> types.Hover | None:
    found = ls.at(params.text_document.uri, params.position)
    if found is None:
        return None
    analysis, display, line, col = found
    text = analysis.hover(display, line, col)
    if text is None:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: PolicyServer, params: types.DefinitionParams) -> list[types.Location] | None:
    found = ls.at(params.text_document.uri, params.position)
    if found is None:
        return None
    analysis, display, line, col = found
    occurrence = analysis.at(display, line, col)
    if occurrence is None:
        return None
    if occurrence.kind == "clause":
        place = analysis.clause_line(occurrence)
        if place is None:
            return None
        document, number = place
        start = types.Position(line=number - 1, character=0)
        where = types.Range(start=start, end=start)
        return [types.Location(uri=from_fs_path(str(document)) or "", range=where)]
    return [ls.location(analysis, span) for span in analysis.definitions(occurrence)] or None


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=[" ", ","]),
)
def completion(ls: PolicyServer, params: types.CompletionParams) -> types.CompletionList:
    document: TextDocument = ls.workspace.get_text_document(params.text_document.uri)
    path = _path(params.text_document.uri)
    analysis = ls.analysis(path.parent) if path is not None else None
    items = complete(document.source, document.offset_at_position(params.position), analysis)
    return types.CompletionList(
        is_incomplete=False,
        items=[
            types.CompletionItem(
                label=item.label,
                kind=_COMPLETION_KINDS.get(item.kind),
                detail=item.detail or None,
            )
            for item in items
        ],
    )


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
def formatting(
    ls: PolicyServer, params: types.DocumentFormattingParams
) -> list[types.TextEdit] | None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    result = format_text(document.source, params.text_document.uri)
    if result.text is None or not result.changed:
        return [] if result.text is not None else None
    end = types.Position(line=len(document.lines), character=0)
    whole = types.Range(start=types.Position(line=0, character=0), end=end)
    return [types.TextEdit(range=whole, new_text=result.text)]


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbol(
    ls: PolicyServer, params: types.DocumentSymbolParams
) -> list[types.DocumentSymbol] | None:
    path = _path(params.text_document.uri)
    if path is None:
        return None
    analysis = ls.analysis(path.parent)
    display = analysis.display(path)
    if display is None:
        return None
    return [_document_symbol(ls, analysis, symbol) for symbol in analysis.outline(display)]


def _document_symbol(ls: PolicyServer, analysis: Analysis, symbol: Symbol) -> types.DocumentSymbol:
    return types.DocumentSymbol(
        name=symbol.name,
        detail=symbol.detail or None,
        kind=_SYMBOL_KINDS[symbol.kind],
        range=ls.range(analysis, symbol.span),
        selection_range=ls.range(analysis, symbol.selection),
        children=[_document_symbol(ls, analysis, child) for child in symbol.children] or None,
    )


def serve() -> None:
    """Speak the protocol over standard input and output until the client exits."""
    server.start_io()
