"""`policyengine explain`: the CLI around explain.py."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import Any

from policyengine.cli.output import EXIT_INPUT, EXIT_OK, write_json
from policyengine.contract.claims import ClaimRejected
from policyengine.semantics.vocabulary import MOMENTS


def register(add: Any) -> None:
    explain = add(
        "explain",
        run,
        "explain a claim's decision step by step, each step with its rule and clause",
        """
        policyengine explain claim.json                 # Chinese, text
        policyengine explain claim.json --lang en
        policyengine explain claim.json --format markdown > decision.md
        policyengine explain claim.json --format json > trace.json
        policyengine explain --replay trace.json        # render a stored trace again
        """,
    )
    explain.add_argument(
        "claim", help="claim JSON file (or a trace document with --replay), or - for stdin"
    )
    explain.add_argument(
        "--replay", action="store_true", help="render a stored policyengine.trace/1 document"
    )
    explain.add_argument("--policy", help="a policy directory (default: bundled, by region)")
    explain.add_argument("--region", help="region when the claim does not name one")
    explain.add_argument("--as-of", dest="as_of", help="apply the rules in force on this date")
    explain.add_argument("--moment", choices=MOMENTS, default="during")
    explain.add_argument("--lang", choices=("zh", "en"), default="zh")
    explain.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    explain.add_argument(
        "--width", type=int, help="text width (default: the terminal's, 80 when piped)"
    )


def run(args: argparse.Namespace) -> int:
    from policyengine.cli.output import engine_for, read_claim_text
    from policyengine.contract.claims import parse_json
    from policyengine.explain import document as stored
    from policyengine.explain import render as explain

    try:
        text = read_claim_text(args.claim)
    except ClaimRejected as rejected:
        write_json(rejected.as_json(), pretty=True)
        return EXIT_INPUT
    if args.replay:
        try:
            document = json.loads(text)
        except RecursionError:
            raise ValueError("the trace document is nested too deeply to be one") from None
        claim, result = stored.check_document(document)
        words = stored.words_of(document)
    else:
        try:
            raw = parse_json(text)
        except ClaimRejected as rejected:
            write_json(rejected.as_json(), pretty=True)
            return EXIT_INPUT
        engine = engine_for(args.policy)
        region = args.region
        if region is None and args.policy is not None and len(engine.regions) == 1:
            region = engine.regions[0]
        try:
            result = engine.settle(
                raw, region=region, as_of=args.as_of, moment=args.moment, trace=True
            )
        except ClaimRejected as rejected:
            write_json(rejected.as_json(), pretty=True)
            return EXIT_INPUT
        claim = json.loads(text)
        words = engine.policy(result["policy"]["region"]).words()
    if args.format == "json":
        write_json(stored.trace_document(claim, result, words), pretty=True)
        return EXIT_OK
    doc = explain.build(claim, result, args.lang, words)
    if args.format == "markdown":
        sys.stdout.write(explain.render_markdown(doc) + "\n")
        return EXIT_OK
    tty = sys.stdout.isatty()
    color = tty and not os.environ.get("NO_COLOR")
    width = args.width or (shutil.get_terminal_size().columns if tty else 80)
    sys.stdout.write(explain.render_text(doc, width=width, color=color))
    return EXIT_OK
