"""The `policyengine` command line.

Exit status: 0 ok; 1 findings or failures (errors in rule files, a claim with findings,
failing policy tests); 2 bad input (a malformed claim, an unknown region or date, a bad
option); 3 internal error (a rule failure at run time, a bug). Errors print as one line
with a hint; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from policyengine._version import __version__
from policyengine.cli.output import EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, report_error
from policyengine.errors import PolicyEngineError
from policyengine.prepared import BACKENDS
from policyengine.semantics.vocabulary import MOMENTS

Handler = Callable[[argparse.Namespace], int]


def _examples(text: str) -> str:
    return "examples:\n" + textwrap.indent(textwrap.dedent(text).strip(), "  ")


def build_parser() -> argparse.ArgumentParser:
    from policyengine.cli import commands as cmd

    parser = argparse.ArgumentParser(
        prog="policyengine",
        description="Rules as code for Chinese basic medical insurance: check rule files, "
        "adjudicate claims, explain decisions.",
        epilog=_examples(
            """
            policyengine check policies/tianjin
            policyengine adjudicate claim.json
            policyengine explain claim.json --lang en
            policyengine batch claims.jsonl -o results.jsonl
            policyengine test policies/tianjin
            """
        )
        + "\n\nexit status: 0 ok, 1 findings/failures, 2 bad input, 3 internal error",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"policyengine {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", metavar="command")

    def add(name: str, handler: Handler, help_text: str, examples: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_examples(examples),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(handler=handler)
        return sub

    check = add(
        "check",
        cmd.check,
        "check rule files: names, units, dates, tables, citations; list provisional figures",
        """
        policyengine check                      # every bundled policy
        policyengine check policies/tianjin
        policyengine check policies/quanzhou --format json
        policyengine check policies/tianjin --provisional   # list the working values
        policyengine check policies/tianjin --watch         # again on every save
        """,
    )
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="policy directories")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument(
        "--watch", action="store_true", help="check again each time a file of the policy changes"
    )
    check.add_argument(
        "--provisional",
        action="store_true",
        help="list every provisional figure and rule (by default they are counted)",
    )

    compile_ = add(
        "compile",
        cmd.compile_,
        "compile a policy; --emit-python prints the generated Python",
        """
        policyengine compile policies/tianjin --emit-python | less
        policyengine compile policies/quanzhou --emit-python -o quanzhou.py
        """,
    )
    compile_.add_argument("path", type=Path, metavar="PATH", help="a policy directory")
    compile_.add_argument("--emit-python", action="store_true", help="print the generated module")
    compile_.add_argument("-o", "--output", type=Path, help="write the generated module here")

    adjudicate = add(
        "adjudicate",
        cmd.adjudicate,
        "adjudicate a claim and print the result JSON",
        """
        policyengine adjudicate claim.json
        policyengine adjudicate claim.json --as-of 2018-06-30 --pretty
        policyengine adjudicate claim.json --moment before
        policyengine adjudicate claim.json --format fhir --pretty
        cat claim.json | policyengine adjudicate -
        """,
    )
    _claim_options(adjudicate)
    adjudicate.add_argument("--trace", action="store_true", help="include every step in the result")
    adjudicate.add_argument("--pretty", action="store_true", help="indent the JSON")
    adjudicate.add_argument(
        "--format",
        choices=("json", "fhir"),
        default="json",
        help="the result (json), or a FHIR R4 ClaimResponse (fhir)",
    )

    schema = add(
        "schema",
        cmd.schema,
        "print the JSON Schema of the claim or the result contract",
        """
        policyengine schema claim > claim.schema.json
        policyengine schema result
        """,
    )
    schema.add_argument("which", metavar="{claim,result,trace}", help="which schema")

    listing = add(
        "list",
        cmd.list_,
        "list the bundled policies, their versions and effective ranges",
        """
        policyengine list
        policyengine list --format json
        """,
    )
    listing.add_argument(
        "--policy", type=Path, help="a directory of policies instead of the bundled ones"
    )
    listing.add_argument("--format", choices=("text", "json"), default="text")

    test = add(
        "test",
        cmd.test,
        "run a policy's YAML test cases and report clause coverage",
        """
        policyengine test policies/tianjin
        policyengine test policies/quanzhou --min-coverage 90
        policyengine test                       # every bundled policy
        policyengine test policies/tianjin --watch   # again on every save
        policyengine test --backend interpreted # on the reference interpreter
        policyengine test policies/tianjin --update  # rewrite failing expectations; review the diff
        """,
    )
    test.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="policy directories")
    test.add_argument(
        "--min-coverage",
        type=float,
        default=None,
        metavar="PERCENT",
        help="fail when fewer rules/rows than this were exercised",
    )
    test.add_argument("--format", choices=("text", "json"), default="text")
    test.add_argument("-k", dest="keyword", help="only cases whose name contains this")
    test.add_argument(
        "--watch", action="store_true", help="run again each time a file of the policy changes"
    )
    test.add_argument(
        "--update",
        action="store_true",
        help="rewrite the expectations of failing cases with what the engine gives, keeping "
        "comments, and print the diff to review (refused when CI is set)",
    )
    test.add_argument(
        "--backend",
        choices=BACKENDS,
        default="compiled",
        help="settle with the compiled evaluator (default) or the reference interpreter",
    )

    for extra in cmd.EXTRA_COMMANDS:
        extra(add)
    completion = add(
        "completion",
        _completion,
        "print the shell completion script for bash, zsh or fish",
        """
        policyengine completion bash > ~/.local/share/bash-completion/completions/policyengine
        policyengine completion zsh > ~/.zfunc/_policyengine    # with fpath+=(~/.zfunc)
        policyengine completion fish > ~/.config/fish/completions/policyengine.fish
        """,
    )
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))
    return parser


# Which arguments complete as files and which as directories (the rest: their choices).
_DIRECTORY_ARGUMENTS = frozenset({"paths", "path", "policy", "base"})
_FILE_ARGUMENTS = frozenset({"claim", "input", "output", "chart", "replay", "summary_json"})


def _completion(args: argparse.Namespace) -> int:
    """The completion script, made from this parser by shtab (a well-kept library that writes
    static scripts for bash, zsh and fish: nothing runs Python at completion time)."""
    import shtab

    parser = build_parser()
    for sub in _subparsers(parser):
        for action in sub._actions:
            if action.dest in _DIRECTORY_ARGUMENTS and not (sub.prog.endswith(" fmt")):
                action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
            elif action.dest in _FILE_ARGUMENTS or action.dest == "paths":
                action.complete = shtab.FILE  # type: ignore[attr-defined]
            elif isinstance(action.metavar, str) and action.metavar.startswith("{"):
                action.choices = action.metavar.strip("{}").split(",")  # `schema {claim,…}`
    sys.stdout.write(shtab.complete(parser, shell=args.shell))
    return EXIT_OK


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.extend(action.choices.values())
    return found


def _claim_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("claim", help="claim JSON file, or - for standard input")
    sub.add_argument("--policy", type=Path, help="a policy directory (default: bundled, by region)")
    sub.add_argument("--region", help="region when the claim does not name one")
    sub.add_argument(
        "--as-of", dest="as_of", help="apply the rules in force on this date (YYYY-MM-DD)"
    )
    sub.add_argument(
        "--moment",
        choices=MOMENTS,
        default="during",
        help="audit moment: before turns blocking audit findings into warnings",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        return int(args.handler(args))
    except PolicyEngineError as error:
        if args.debug:
            raise
        return report_error(str(error), error.hint, error.exit_code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except (OSError, ValueError) as error:
        if args.debug:
            raise
        return report_error(str(error), None, EXIT_INPUT)
    except Exception as error:  # a bug: say so plainly, never a bare traceback
        if args.debug:
            raise
        return report_error(
            f"internal error: {type(error).__name__}: {error}",
            "please report it with the input; rerun with --debug for the traceback",
            EXIT_INTERNAL,
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
