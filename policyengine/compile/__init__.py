"""Compile a checked policy (IR) to Python: source → `compile()` → code object.

The generated module (compile/module.py) has one settle function per version of the
policy, in a plain and a traced variant. `compile_policy` returns the source, the code
object and the module namespace; engine.py caches them by the policy's content hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import CodeType
from typing import Any

from policyengine.compile.module import build_source
from policyengine.ir import PolicyIR


@dataclass(frozen=True)
class Compiled:
    name: str
    source: str
    code: CodeType

    def namespace(self) -> dict[str, Any]:
        namespace: dict[str, Any] = {"__name__": f"policyengine.compiled.{self.name}"}
        exec(self.code, namespace)  # the code object of our own generated source, never rule text
        return namespace


def compile_policy(policy: PolicyIR) -> Compiled:
    source = build_source(policy)
    code = compile(source, f"<policyengine compiled {policy.name}>", "exec")
    return Compiled(policy.name, source, code)
