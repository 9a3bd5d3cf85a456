"""policyengine: rules as code for Chinese basic medical insurance.

The package reads as its pipeline::

    grammar/policy.lark
    rule files ──parse.py──▶ Lark tree ──build.py──▶ AST (nodes.py, every node has a Span)
                                                   │
                            check/ (named passes that collect every diagnostic) → ir.py
                                                   │   (semantics/: what the words mean)
                       ┌───────────────────────────┴───────────────────────────┐
                compile/ (Python source → code object,                 interpret/
                 trace and no-trace variants) → runtime.py              (reference oracle)
                       └───────────────────────────┬───────────────────────────┘
             prepared.py ← cache.py;  engine.py: Engine.load(policy) once → adjudicate(claim) many
                                                   │
                contract/ (claims in; results and trace out: the JSON contract)
                                                   │
          applications: explain/  batch/  diff/  policytest/  cli/  tools/

docs/architecture.md describes each stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policyengine._version import __version__

if TYPE_CHECKING:
    from policyengine.contract.results import Result
    from policyengine.engine import Engine

__all__ = ["Engine", "Result", "__version__"]


def __getattr__(name: str) -> Any:
    # `from policyengine import Engine` without importing the pipeline for `--version`
    if name == "Engine":
        from policyengine.engine import Engine

        return Engine
    if name == "Result":
        from policyengine.contract.results import Result

        return Result
    raise AttributeError(f"module 'policyengine' has no attribute {name!r}")
