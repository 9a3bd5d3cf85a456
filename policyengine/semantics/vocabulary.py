"""The words of the claim contract (../spec/claims.md) that rule files may use.

One place defines the enums, the condition keys a `when` may test, the table kinds
and, per finding kind, the parameters a rule of that kind takes. The checker, both
evaluators and the pydantic claim models all read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

SCHEMES: Final = ("employee", "resident")
STATUSES: Final = ("working", "retired")
VISITS: Final = ("outpatient", "special_outpatient", "two_disease", "inpatient")
LEVELS: Final = (1, 2, 3)
HOSPITAL_KINDS: Final = ("general", "tcm", "community", "specialist")
ADMISSIONS: Final = ("first", "later")
GROUPS: Final = (
    "low_income",
    "low_income_edge",
    "extremely_poor",
    "severely_disabled",
    "poverty_registered",
)
SEXES: Final = ("male", "female")
TITLES: Final = ("resident", "attending", "associate_chief", "chief")
TITLE_RANK: Final = MappingProxyType({title: rank for rank, title in enumerate(TITLES)})
PROGRAMMES: Final = ("special_outpatient", "two_disease")
ITEM_KINDS: Final = ("drug", "service", "material", "bed")
CLASSES: Final = ("A", "B", "C")
ACTIONS: Final = ("reject", "exclude", "review", "warn")
PAYERS: Final = ("fund", "critical_illness")
PAID_POOLS: Final = (
    "outpatient",
    "special_outpatient",
    "two_disease",
    "inpatient",
    "critical_illness",
)
DEDUCTIBLE_POOLS: Final = ("outpatient", "special_outpatient", "two_disease")
MOMENTS: Final = ("before", "during", "after")
CATALOGUE_FLAGS: Final = ("selected", "negotiated", "two_disease")

# Drug codes: the first 10 characters name the generic drug (spec §4, duplicate_dispensing).
GENERIC_PREFIX_LENGTH: Final = 10
DEFAULT_DAILY_FREQUENCY: Final = 1

# `when` keys: what each tests and the values it accepts (None = condition names / ranges).
CONDITION_KEYS: Final = MappingProxyType(
    {
        "scheme": SCHEMES,
        "status": STATUSES,
        "visit": VISITS,
        "level": None,
        "hospital_kind": HOSPITAL_KINDS,
        "admission": ADMISSIONS,
        "group": GROUPS,
        "diagnosis": None,
        "certified": None,
        "sex": SEXES,
        "age": None,
    }
)
INTEGER_KEYS: Final = frozenset({"level", "age"})
CONDITION_NAME_KEYS: Final = frozenset({"diagnosis", "certified"})

TABLE_KINDS: Final = ("deductible", "ratio", "cap", "limit", "second_layer", "pre_self_pay")
PERIODS: Final = ("year", "admission")

# What each table kind's rows hold, and the settings it accepts.
TABLE_UNITS: Final = MappingProxyType(
    {
        "deductible": "money",
        "ratio": "ratio",
        "cap": "money",
        "limit": "money",
        "second_layer": "bands",
        "pre_self_pay": "ratio",
    }
)
TABLE_SETTINGS: Final = MappingProxyType(
    {
        "deductible": frozenset({"complete"}),
        "ratio": frozenset({"complete", "alias"}),
        "cap": frozenset({"complete", "pools"}),
        "limit": frozenset({"pools", "programme"}),
        "second_layer": frozenset({"complete", "self_burden"}),
        "pre_self_pay": frozenset({"complete"}),
    }
)


@dataclass(frozen=True)
class ParamSpec:
    """A rule parameter: its value type and, for names, the accepted words."""

    type: str  # "days", "level", "title", "names", "conditions"
    choices: tuple[str, ...] = ()
    required: bool = False
    figure: bool = False  # a figure (needs a citation of its own or the rule's)


@dataclass(frozen=True)
class KindSpec:
    """A finding kind: where it looks, what it takes, whether several rules may stack."""

    level: str  # "line", "claim" or "either"
    params: MappingProxyType[str, ParamSpec] = field(default_factory=lambda: MappingProxyType({}))
    tables: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    needs_programme: bool = False
    # Additive kinds list independent reasons (several rules apply side by side);
    # for the others one rule applies per claim, so two that overlap conflict.
    additive: bool = False
    zh: str = ""


def _params(**specs: ParamSpec) -> MappingProxyType[str, ParamSpec]:
    return MappingProxyType(specs)


NOT_COVERED_SELECTORS: Final = ("outside_catalogue", "class_c", "local")
RESTRICTION_CHECKS: Final = ("indication", "level", "sex", "age", "title")
CONTRAINDICATION_CHECKS: Final = ("diagnosis", "sex", "age")
DESIGNATED_CHECKS: Final = ("level", "title", "indication")

FINDING_KINDS: Final = MappingProxyType(
    {
        "not_covered": KindSpec(
            "line",
            _params(
                items=ParamSpec("names", NOT_COVERED_SELECTORS),
                only_flagged=ParamSpec("names", CATALOGUE_FLAGS),
            ),
            additive=True,
            zh="目录外/自费",
        ),
        "restricted_use": KindSpec(
            "either",
            _params(
                scope=ParamSpec("names", ("line", "claim"), required=True),
                checks=ParamSpec("names", RESTRICTION_CHECKS),
            ),
            additive=True,
            zh="限定支付范围",
        ),
        "duplicate_dispensing": KindSpec(
            "line",
            _params(tolerance=ParamSpec("days", required=True, figure=True)),
            zh="重复开药/重复配药",
        ),
        "excess_supply": KindSpec(
            "line", tables=MappingProxyType({"max_days": "days"}), zh="超量开药/超量配药"
        ),
        "contraindication": KindSpec(
            "line",
            _params(checks=ParamSpec("names", CONTRAINDICATION_CHECKS)),
            zh="超禁忌症使用",
        ),
        "duplicate_service": KindSpec("line", zh="重复开具诊疗项目"),
        "certification_required": KindSpec(
            "claim",
            _params(conditions=ParamSpec("conditions", required=True, figure=True)),
            needs_programme=True,
            zh="门特/两病未认定",
        ),
        "prescriber_qualification": KindSpec(
            "claim",
            _params(
                conditions=ParamSpec("conditions", required=True, figure=True),
                min_title=ParamSpec("title", TITLES, required=True, figure=True),
            ),
            needs_programme=True,
            zh="医师资质",
        ),
        "designated_use": KindSpec(
            "line",
            _params(
                checks=ParamSpec("names", DESIGNATED_CHECKS),
                min_level=ParamSpec("level", figure=True),
                min_title=ParamSpec("title", TITLES, figure=True),
            ),
            zh="定医院定医师定病种",
        ),
        "non_selected_drug": KindSpec("line", zh="非集采中选药品"),
    }
)

UNIT_WORDS: Final = MappingProxyType(
    {
        "money": "money (元)",
        "ratio": "a ratio (%)",
        "points": "percentage points (pt)",
        "days": "days",
        "count": "a count",
        "none": "`none`",
        "bands": "a `bands` block",
    }
)
