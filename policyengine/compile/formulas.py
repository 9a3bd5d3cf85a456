"""Figures that depend on the claim, in the generated code: a formula (semantics/formula.py)
written as a module-level function of the claim's facts, `_G<i>(fx)`, where `fx` is the
tuple of the facts in facts.ATOMS order that the settle function's prelude builds. A money
figure's function rounds it half-up to the policy's unit, as the interpreter does. The code
is written from the checked IR's nodes only: constants are `repr()` of parsed decimals,
names are generated."""

from __future__ import annotations

from policyengine.compile.writer import Code, Raw, literal
from policyengine.semantics import formula as f
from policyengine.semantics.facts import ATOM_INDEX, FACTS_TUPLE
from policyengine.semantics.values import Formula, render
from policyengine.semantics.vocabulary import MoneyUnit

_OPERATORS = {"+": "+", "-": "-", "×": "*"}


def source(node: f.Node, unit: MoneyUnit) -> str:
    """Python for the node's value, reading the facts from `fx`."""
    if isinstance(node, f.Const):
        return literal(node.value)
    if isinstance(node, f.Atom):
        return f"{FACTS_TUPLE}[{ATOM_INDEX[node.name]}]"
    if isinstance(node, f.Op):
        left, right = source(node.left, unit), source(node.right, unit)
        if node.op == "÷":
            return f"_div({left}, {right})"
        return f"({left} {_OPERATORS[node.op]} {right})"
    if isinstance(node, f.Call):
        args = ", ".join(source(a, unit) for a in node.args)
        if node.fn in ("min", "max"):
            return f"{node.fn}({args})"
        if node.fn == "floor":
            return f"_floor({args})"
        return f"_to_unit(_D({args}), {unit!r})"
    if isinstance(node, f.Neg):
        return f"(-{source(node.arg, unit)})"
    options = ", ".join(source(o, unit) for o in node.options)
    return f"({options})[_level_index({source(node.index, unit)})]"


class Functions:
    """The module's formula functions, one per distinct formula."""

    def __init__(self, unit: MoneyUnit) -> None:
        self.unit = unit
        self.code = Code()
        self.names: dict[tuple[str, str], str] = {}

    def function(self, value: Formula) -> Raw:
        """The function computing `value` for a claim's facts (money: rounded to the unit)."""
        body = f"_D({source(value.node, self.unit)})"
        if value.unit == "money":
            body = f"_to_unit({body}, {self.unit!r})"
        key = (value.unit, body)
        if key not in self.names:
            name = f"_G{len(self.names)}"
            self.names[key] = name
            w = self.code
            with w.block(f"def {name}(fx):"):
                w.comment(render(value.node))
                w(f"return {body}")
            w()
        return Raw(self.names[key])
