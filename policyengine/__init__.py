"""policyengine: rules as code for Chinese basic medical insurance.

The package reads as its pipeline::

    grammar/policy.lark
    rule files ──parse.py──▶ Lark tree ──build.py──▶ AST (nodes.py, every node has a Span)
                                                   │
                            check/ (named passes that collect every diagnostic) → ir.py
                                                   │
                       ┌───────────────────────────┴───────────────────────────┐
                compile/ (Python source → code object,                 interpret.py
                 trace and no-trace variants, cached)                   (reference oracle)
                       └───────────────────────────┬───────────────────────────┘
                     engine.py: Engine.load(policy) once → engine.adjudicate(claim) many
                                                   │
                claims.py / results.py (pydantic, the JSON contract) + trace ──▶ explain.py

docs/architecture.md describes each stage.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
