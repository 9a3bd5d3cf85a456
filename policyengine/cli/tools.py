"""The authors' tools on the command line: `fmt` (tools/fmt.py) and `render`
(tools/literate.py, tools/render.py)."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from policyengine.cli.output import EXIT_FINDINGS, EXIT_OK
from policyengine.errors import PolicyNotFound


def register_fmt(add: Any) -> None:
    fmt = add(
        "fmt",
        run_fmt,
        "lay rule files out in the canonical layout, keeping every comment",
        """
        policyengine fmt policies/tianjin            # rewrite the files that change
        policyengine fmt --check policies            # CI: exit 1 and show the diff if any would
        policyengine fmt --diff policies/tianjin/benefits.policy
        policyengine fmt - < benefits.policy         # standard input to standard output
        """,
    )
    fmt.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="rule files, policy directories or directories of policies; - for standard input",
    )
    fmt.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and show the diff if any file is not formatted",
    )
    fmt.add_argument("--diff", action="store_true", help="write nothing; show the diff")


def run_fmt(args: argparse.Namespace) -> int:
    from policyengine.span import SourceText
    from policyengine.tools.fmt import format_source

    if args.paths == ["-"]:
        source = SourceText(Path("<stdin>"), "<stdin>", sys.stdin.read())
        formatted = format_source(source)
        if formatted.text is None:
            _report(formatted.diagnostics, source)
            return EXIT_FINDINGS
        sys.stdout.write(formatted.text)
        return EXIT_OK
    failed = changed = unchanged = 0
    for path in rule_files(args.paths):
        text = path.read_text(encoding="utf-8")
        source = SourceText(path, str(path), text)
        formatted = format_source(source)
        if formatted.text is None:
            _report(formatted.diagnostics, source)
            failed += 1
            continue
        if not formatted.changed:
            unchanged += 1
            continue
        changed += 1
        if args.check or args.diff:
            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(keepends=True),
                    formatted.text.splitlines(keepends=True),
                    f"a/{path}",
                    f"b/{path}",
                )
            )
            if args.check:
                print(f"would reformat {path}", file=sys.stderr)
        else:
            _replace(path, formatted.text)
            print(f"reformatted {path}", file=sys.stderr)
    would = "would be reformatted" if args.check or args.diff else "reformatted"
    summary = f"{changed} file(s) {would}, {unchanged} unchanged"
    print(summary + (f", {failed} with syntax errors" if failed else ""), file=sys.stderr)
    return EXIT_FINDINGS if failed or (args.check and changed) else EXIT_OK


def rule_files(paths: list[str]) -> list[Path]:
    """The rule files named: files as they are, a policy directory's `*.policy`, or those
    of every policy directory in a directory of policies."""
    from policyengine.engine import policy_dirs
    from policyengine.layout import policy_files

    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            files = [f for directory in policy_dirs(path) for f in policy_files(directory)]
            if not files:
                raise PolicyNotFound(f"no rule files (*.policy) in {path}")
            found.extend(files)
        else:
            raise PolicyNotFound(f"{path}: no such file or directory")
    return found


def _report(diagnostics: tuple[Any, ...], source: Any) -> None:
    from policyengine.diagnostics import render

    for diagnostic in diagnostics:
        print(render(diagnostic, {source.display: source}), file=sys.stderr)
    print(f"{source.display}: not formatted (fix the syntax errors first)", file=sys.stderr)


def _replace(path: Path, text: str) -> None:
    """Write `text` over `path` at once (a temporary file renamed), keeping its mode."""
    mode = path.stat().st_mode
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def register_render(add: Any) -> None:
    render = add(
        "render",
        run_render,
        "the literate view: each clause of the policy's documents, then what cites it",
        """
        policyengine render policies/tianjin --by-clause
        policyengine render policies/tianjin --by-clause --format markdown -o tianjin.md
        policyengine render policies/quanzhou --by-clause --format html -o quanzhou.html
        """,
    )
    render.add_argument("path", type=Path, metavar="POLICY", help="a policy directory")
    render.add_argument(
        "--by-clause",
        action="store_true",
        required=True,
        help="clause by clause, each with the rules and figures that cite it (the only view)",
    )
    render.add_argument("--format", choices=("text", "markdown", "html"), default="text")
    render.add_argument("-o", "--output", type=Path, help="write here (default: standard output)")


def run_render(args: argparse.Namespace) -> int:
    from policyengine.diagnostics import render as render_diagnostic
    from policyengine.tools.literate import build_view
    from policyengine.tools.render import render

    if not args.path.is_dir():
        raise PolicyNotFound(f"{args.path} is not a policy directory")
    view = build_view(args.path)
    if isinstance(view, tuple):
        from policyengine.loader import load

        texts = load(args.path).texts
        for diagnostic in view:
            print(render_diagnostic(diagnostic, texts) + "\n", file=sys.stderr)
        print(f"{args.path.name}: FAILED — fix the errors `check` reports first", file=sys.stderr)
        return EXIT_FINDINGS
    text = render(view, args.format)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def register_lsp(add: Any) -> None:
    add(
        "lsp",
        run_lsp,
        "the language server for rule files, over standard input and output (for editors)",
        """
        policyengine lsp          # started by the editor: editors/vscode, docs/authoring.md
        """,
    )


def run_lsp(_args: argparse.Namespace) -> int:
    from policyengine.tools.lsp.server import serve

    serve()
    return EXIT_OK
