"""The claim facts a `when` (and so a table's rows) may test — their one home.

Each fact is declared once: its `when` key, the values it takes, and how each back end reads
it from the claim records (contract/fastclaim.py):

- `read(claim, context)` — the reference interpreter's reading (interpret/evaluator.py);
- `source` — a Python expression over the generated settle function's `person`, `visit`,
  `history` and the locals named in `uses` (other facts' `var`, or `vdate`), which
  compile/settle.py puts in the function's prelude as `var = source` where the body needs it.

The checker (check/conditions.py: keys, values, integer ranges), the classes of claims a
table's rows distinguish (semantics/domain.py), the compiler's `when` tests and table keys
(compile/rules.py, compile/tables.py) and the interpreter all read this table.
tests/test_registries.py checks that the two readings agree on generated claims.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple

from policyengine.semantics.matching import age_on, condition_matches
from policyengine.semantics.vocabulary import (
    ADMISSIONS,
    FILED,
    GROUPS,
    HOSPITAL_KINDS,
    LEVELS,
    MAX_ADMISSIONS,
    MAX_ENROLLED_YEARS,
    PLACES,
    REFERRALS,
    SCHEMES,
    SEXES,
    STATUSES,
    VISITS,
)

if TYPE_CHECKING:  # only types here: the run time does not import the IR
    from policyengine.contract.fastclaim import Claim
    from policyengine.ir import Condition

FactKind = Literal["word", "integer", "names"]


class FactContext(NamedTuple):
    """What a reading needs beyond the claim."""

    conditions: Mapping[str, Condition]  # the policy's conditions, for `diagnosis`
    programme: str | None = None  # the limit table's programme, for `certified`
    default_tier: str | None = None  # the policy's `default tier`, for claims without one


@dataclass(frozen=True)
class Fact:
    """A claim fact a `when` may test.

    kind: `word` (one of `values`; `values` None: any word the claim carries), `integer`
    (one of `values`, or a whole number within `bounds` that a `when` names as ranges) or
    `names` (the set of names the claim has: groups, diagnosed or certified conditions; the
    words are `values`, or the policy's condition names when `conditions`)."""

    name: str
    kind: FactKind
    var: str  # the generated function's local that holds it
    source: str  # how the compiled code reads it (see the module docstring)
    read: Callable[[Claim, FactContext], Any]  # how the interpreter reads it
    values: tuple[Any, ...] | None = None
    bounds: tuple[int, int] | None = None
    conditions: bool = False  # a `names` fact over the policy's condition names
    uses: tuple[str, ...] = ()  # other locals `source` reads (settle.PRELUDE declares them)
    # None unless the fact `only_when[0]` has a value in `only_when[1]` (status: employees)
    only_when: tuple[str, tuple[str, ...]] | None = None
    # a fact of one table kind's rows only, read per table (`certified`: the certifications of
    # the limit table's programme, which `source` names as PROGRAMME), with the hint the
    # checker gives where it is tested elsewhere
    table: str | None = None
    elsewhere_hint: str = ""
    # the words are the policy's own (`tiers` in its header): the checker and the classes of
    # claims take them from the policy, not from `values`
    declared: str | None = None

    def axis(
        self,
        mentioned: Iterable[Any],
        visits: Iterable[str] | None = None,
        declared: tuple[Any, ...] | None = None,
    ) -> list[Any]:
        """The values that tell apart every class of claims the mentioned values can
        (`declared`: the policy's words for a fact whose words it declares)."""
        if self.declared is not None:
            return list(declared or (None,))
        if self.kind == "names":
            names = sorted({n for n in mentioned if isinstance(n, str)})
            return [
                frozenset(c)
                for size in range(len(names) + 1)
                for c in itertools.combinations(names, size)
            ]
        if self.kind == "integer" and self.values is None:
            assert self.bounds is not None
            low, high = self.bounds
            points = {low, high}
            for first, last in (m for m in mentioned if isinstance(m, tuple)):
                points.update({first, last + 1})
            return sorted(p for p in points if low <= p <= high)
        if self.values is None:  # an open word: those the rows name, and any other
            return [*sorted({n for n in mentioned if isinstance(n, str)}), None]
        values = list(visits) if self.name == "visit" and visits is not None else list(self.values)
        return [*values, None] if self.only_when is not None else values

    def axis_size(
        self,
        mentioned: set[Any],
        visits: Iterable[str] | None = None,
        declared: tuple[Any, ...] | None = None,
    ) -> int:
        if self.kind == "names":
            return 1 << len({n for n in mentioned if isinstance(n, str)})
        return len(self.axis(mentioned, visits, declared))


def _admission(claim: Claim, context: FactContext) -> str | None:
    if claim.visit.type != "inpatient":
        return None
    return "first" if claim.history.admissions == 0 else "later"


def _filed(claim: Claim, context: FactContext) -> str | None:
    if claim.visit.place == "local":
        return None
    return "yes" if claim.visit.filed else "no"


def _referral(claim: Claim, context: FactContext) -> str:
    referral = claim.visit.referral
    if referral is None:
        return "none"
    return "within_alliance" if referral.within_alliance else "outside_alliance"


def _tier(claim: Claim, context: FactContext) -> str | None:
    tier = claim.person.tier
    return tier if tier is not None else context.default_tier


def _admission_rank(claim: Claim, context: FactContext) -> int | None:
    return claim.history.admissions + 1 if claim.visit.type == "inpatient" else None


def _diagnosed(claim: Claim, context: FactContext) -> frozenset[str]:
    diagnoses = claim.visit.diagnoses
    return frozenset(
        name for name, c in context.conditions.items() if condition_matches(c, diagnoses)
    )


def _certified(claim: Claim, context: FactContext) -> frozenset[str]:
    day = claim.visit.date
    return frozenset(
        c.condition
        for c in claim.person.certifications
        if c.programme == context.programme and c.since <= day
    )


def _declare(*facts: Fact) -> MappingProxyType[str, Fact]:
    return MappingProxyType({fact.name: fact for fact in facts})


# In the order the classes of claims list them (the checker's messages, a table's key).
FACTS: Final = _declare(
    Fact(
        "scheme",
        "word",
        "scheme",
        "person.scheme",
        lambda c, _: c.person.scheme,
        SCHEMES,
    ),
    Fact(
        "status",
        "word",
        "status",
        "person.status if person.scheme == 'employee' else None",
        lambda c, _: c.person.status if c.person.scheme == "employee" else None,
        STATUSES,
        only_when=("scheme", ("employee",)),
    ),
    Fact(
        "tier",
        "word",
        "tier",
        "person.tier if person.tier is not None else _DEFAULT_TIER",
        _tier,
        declared="tiers",
    ),
    Fact("visit", "word", "vtype", "visit.type", lambda c, _: c.visit.type, VISITS),
    Fact(
        "admission",
        "word",
        "admission",
        "('first' if history.admissions == 0 else 'later') if vtype == 'inpatient' else None",
        _admission,
        ADMISSIONS,
        uses=("vtype",),
        only_when=("visit", ("inpatient",)),
    ),
    Fact(
        "admission_rank",
        "integer",
        "rank",
        "history.admissions + 1 if vtype == 'inpatient' else None",
        _admission_rank,
        bounds=(1, MAX_ADMISSIONS + 1),
        uses=("vtype",),
        only_when=("visit", ("inpatient",)),
    ),
    Fact(
        "level",
        "integer",
        "level",
        "visit.hospital.level",
        lambda c, _: c.visit.hospital.level,
        LEVELS,
        bounds=(min(LEVELS), max(LEVELS)),
    ),
    Fact(
        "hospital_kind",
        "word",
        "hkind",
        "visit.hospital.kind",
        lambda c, _: c.visit.hospital.kind,
        HOSPITAL_KINDS,
    ),
    Fact("place", "word", "place", "visit.place", lambda c, _: c.visit.place, PLACES),
    Fact(
        "filed",
        "word",
        "filed",
        "('yes' if visit.filed else 'no') if visit.place != 'local' else None",
        _filed,
        FILED,
        only_when=("place", ("in_province", "out_of_province")),
    ),
    Fact(
        "referral",
        "word",
        "referral",
        "'none' if visit.referral is None else "
        "'within_alliance' if visit.referral.within_alliance else 'outside_alliance'",
        _referral,
        REFERRALS,
    ),
    Fact("department", "word", "dept", "visit.department", lambda c, _: c.visit.department),
    Fact(
        "group",
        "names",
        "groups",
        "frozenset(person.groups)",
        lambda c, _: frozenset(c.person.groups),
        GROUPS,
    ),
    Fact(
        "diagnosis",
        "names",
        "dx",
        "_diagnosed(visit.diagnoses)",
        _diagnosed,
        conditions=True,
    ),
    Fact(
        "certified",
        "names",
        "certified",
        "{ct.condition for ct in person.certifications "
        "if ct.programme == PROGRAMME and ct.since <= vdate}",
        _certified,
        conditions=True,
        uses=("vdate",),
        table="limit",
        elsewhere_hint="test the visit's diagnoses with `diagnosis`; a rule requires a "
        "certification with `certification_required`",
    ),
    Fact("sex", "word", "sex", "person.sex", lambda c, _: c.person.sex, SEXES),
    Fact(
        "age",
        "integer",
        "age",
        "_age_on(person.birth_date, visit.date)",
        lambda c, _: age_on(c.person.birth_date, c.visit.date),
        bounds=(0, 150),
    ),
    Fact(
        "enrolled_years",
        "integer",
        "enrolled",
        "person.enrolled_years or 0",
        lambda c, _: c.person.enrolled_years or 0,
        bounds=(0, MAX_ENROLLED_YEARS),
    ),
    # a fact of a line, not of the claim: the catalogue's `category` of the line's item. Only
    # a ratio table's rows test it (lines of a category paid at that row's ratio); the claim
    # as a whole has none (None), which the settlement reads for lines without a category
    Fact(
        "category",
        "word",
        "cat",
        "None",
        lambda _c, _x: None,
        table="ratio",
        elsewhere_hint="a category is a line's (the catalogue's `category` column): a ratio "
        "table pays a category's lines at its own ratio",
    ),
)
SET_FACTS: Final = frozenset(name for name, fact in FACTS.items() if fact.kind == "names")


def declared_words(tiers: tuple[str, ...], default_tier: str | None) -> dict[str, tuple[Any, ...]]:
    """The values of the facts whose words a policy declares, for its classes of claims: its
    tiers, and no tier at all where it has no `default tier` for claims that name none."""
    return {"tier": (*tiers, *(() if default_tier is not None else (None,)))}


def claim_facts(claim: Claim, context: FactContext) -> dict[str, Any]:
    """Every per-claim fact of `claim`, as the interpreter matches `when`s against them."""
    return {name: f.read(claim, context) for name, f in FACTS.items() if f.table is None}


# ------------------------------------------------------------------ facts in figures


@dataclass(frozen=True)
class Atom:
    """A whole-number fact of the claim a figure may compute with (`age × 0.2 pt + 75%`):
    its name in rule files, its range (the checker's interval arithmetic), how each back end
    reads it, and — for a fact that not every claim has — the `when` that makes sure it has."""

    name: str
    bounds: tuple[int, int]
    read: Callable[[Claim], int | None]  # the interpreter's reading
    var: str  # the generated function's local that holds it (a Fact's where they agree)
    source: str  # the compiled code's, over `person`, `visit`, `history` (like Fact.source)
    requires: tuple[str, tuple[str, ...]] | None = None  # (when key, the values that give it)
    meaning: str = ""
    # a fact of this visit (its hospital, referral, rank), not of the person: a yearly figure
    # (a yearly cap, a fund ceiling), one amount held against the year's sum, cannot read it
    of_visit: bool = False


def _referring_level(claim: Claim) -> int | None:
    referral = claim.visit.referral
    return referral.from_.level if referral is not None else None


# The order is the generated code's tuple of facts (`fx`) that compiled figures read.
ATOMS: Final = MappingProxyType(
    {
        atom.name: atom
        for atom in (
            Atom(
                "age",
                (0, 150),
                lambda c: age_on(c.person.birth_date, c.visit.date),
                "age",
                "_age_on(person.birth_date, visit.date)",
                meaning="age in whole years on the visit date",
            ),
            Atom(
                "level",
                (min(LEVELS), max(LEVELS)),
                lambda c: c.visit.hospital.level,
                "level",
                "visit.hospital.level",
                meaning="the hospital's level",
                of_visit=True,
            ),
            Atom(
                "referring_level",
                (min(LEVELS), max(LEVELS)),
                _referring_level,
                "rlevel",
                "visit.referral.from_.level if visit.referral is not None else None",
                requires=("referral", ("within_alliance", "outside_alliance")),
                meaning="the level of the hospital that referred the patient",
                of_visit=True,
            ),
            Atom(
                "enrolled_years",
                (0, MAX_ENROLLED_YEARS),
                lambda c: c.person.enrolled_years or 0,
                "enrolled",
                "person.enrolled_years or 0",
                meaning="whole years of continuous enrolment",
            ),
            Atom(
                "admission_rank",
                (1, MAX_ADMISSIONS + 1),
                lambda c: c.history.admissions + 1,
                "arank",
                "history.admissions + 1",
                meaning="the rank in the year of this admission (history.admissions + 1)",
                of_visit=True,
            ),
        )
    }
)


def atom_facts(claim: Claim) -> dict[str, int]:
    """The whole-number facts a figure may read, as the interpreter reads them (a fact the
    claim does not have is left out: the checker makes sure no figure then reads it)."""
    out = {}
    for name, atom in ATOMS.items():
        found = atom.read(claim)
        if found is not None:
            out[name] = found
    return out


# The generated code's tuple of these facts, in ATOMS order: compiled figures read `fx[i]`.
FACTS_TUPLE: Final = "fx"
ATOM_INDEX: Final = MappingProxyType({name: index for index, name in enumerate(ATOMS)})
