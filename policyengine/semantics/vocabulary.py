"""The words of the claim contract (../spec/claims.md) that rule files may use — their one home.

Each enum is declared once, as a `Literal` type, and its tuple of words derived from it: the
pydantic models (contract/models.py, contract/results.py, contract/trace.py) use the types,
the fast claim path (contract/fastclaim.py), the checker and both evaluators the tuples, the
run time the title ranks. Here too: the table kinds and, per finding kind, its names, level
and parameters (FINDING_KINDS). The claim facts a `when` may test are semantics/facts.py.
tests/test_registries.py fails on a literal restating any of these elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal, get_args

Scheme = Literal["employee", "resident"]
Status = Literal["working", "retired"]
VisitType = Literal["outpatient", "special_outpatient", "two_disease", "inpatient"]
Level = Literal[1, 2, 3]
HospitalKind = Literal["general", "tcm", "community", "specialist"]
Admission = Literal["first", "later"]
Group = Literal[
    "low_income",
    "low_income_edge",
    "extremely_poor",
    "severely_disabled",
    "poverty_registered",
]
Sex = Literal["male", "female"]
Title = Literal["resident", "attending", "associate_chief", "chief"]  # lowest to highest
Programme = Literal["special_outpatient", "two_disease"]
ItemKind = Literal["drug", "service", "material", "bed"]
ItemClass = Literal["A", "B", "C"]
Action = Literal["reject", "exclude", "review", "warn"]
Decision = Literal["reject", "partial", "review", "pay"]
Payer = Literal["fund", "critical_illness"]
PaidPool = Literal[
    "outpatient",
    "special_outpatient",
    "two_disease",
    "inpatient",
    "critical_illness",
]
DeductiblePool = Literal["outpatient", "special_outpatient", "two_disease"]
Moment = Literal["before", "during", "after"]
CatalogueFlag = Literal["selected", "negotiated", "two_disease"]
Period = Literal["year", "admission", "visit"]  # a deductible's: `per year|admission|visit`
CapPeriod = Literal["visit", "day"]  # a cap's `per visit|day` (without one: per year)
Provenance = Literal["cited", "secondary", "provisional"]
# Contract version 2 (spec §5): where the care happened, whether remote care was filed (备案),
# the referral (转诊) into the visit, and the unit a policy settles money to.
Place = Literal["local", "in_province", "out_of_province"]
Filed = Literal["yes", "no"]
ReferralKind = Literal["none", "within_alliance", "outside_alliance"]
MoneyUnit = Literal["fen", "jiao"]

SCHEMES: Final[tuple[Scheme, ...]] = get_args(Scheme)
STATUSES: Final[tuple[Status, ...]] = get_args(Status)
VISITS: Final[tuple[VisitType, ...]] = get_args(VisitType)
LEVELS: Final[tuple[Level, ...]] = get_args(Level)
HOSPITAL_KINDS: Final[tuple[HospitalKind, ...]] = get_args(HospitalKind)
ADMISSIONS: Final[tuple[Admission, ...]] = get_args(Admission)
GROUPS: Final[tuple[Group, ...]] = get_args(Group)
SEXES: Final[tuple[Sex, ...]] = get_args(Sex)
TITLES: Final[tuple[Title, ...]] = get_args(Title)
TITLE_RANK: Final[MappingProxyType[str, int]] = MappingProxyType(
    {title: rank for rank, title in enumerate(TITLES)}
)
TITLE_ZH: Final[MappingProxyType[str, str]] = MappingProxyType(
    dict(zip(TITLES, ("住院医师", "主治医师", "副主任医师", "主任医师"), strict=True))
)
SCHEME_ZH: Final[MappingProxyType[str, str]] = MappingProxyType(
    dict(zip(SCHEMES, ("职工医保", "城乡居民医保"), strict=True))
)
SEX_ZH: Final[MappingProxyType[str, str]] = MappingProxyType(
    dict(zip(SEXES, ("男性", "女性"), strict=True))
)
PROGRAMMES: Final[tuple[Programme, ...]] = get_args(Programme)
ITEM_KINDS: Final[tuple[ItemKind, ...]] = get_args(ItemKind)
CLASSES: Final[tuple[ItemClass, ...]] = get_args(ItemClass)
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)
DECISIONS: Final[tuple[Decision, ...]] = get_args(Decision)
PAYERS: Final[tuple[Payer, ...]] = get_args(Payer)
PAID_POOLS: Final[tuple[PaidPool, ...]] = get_args(PaidPool)
DEDUCTIBLE_POOLS: Final[tuple[DeductiblePool, ...]] = get_args(DeductiblePool)
MOMENTS: Final[tuple[Moment, ...]] = get_args(Moment)
CATALOGUE_FLAGS: Final[tuple[CatalogueFlag, ...]] = get_args(CatalogueFlag)
PERIODS: Final[tuple[Period, ...]] = get_args(Period)
CAP_PERIODS: Final[tuple[CapPeriod, ...]] = get_args(CapPeriod)
PROVENANCES: Final[tuple[Provenance, ...]] = get_args(Provenance)
PLACES: Final[tuple[Place, ...]] = get_args(Place)
FILED: Final[tuple[Filed, ...]] = get_args(Filed)
REFERRALS: Final[tuple[ReferralKind, ...]] = get_args(ReferralKind)
MONEY_UNITS: Final[tuple[MoneyUnit, ...]] = get_args(MoneyUnit)

# Bounds of the contract's whole numbers that rules may test (ranges like `age 0..150`).
MAX_ADMISSIONS: Final = 10_000  # history.admissions
MAX_ENROLLED_YEARS: Final = 150  # person.enrolled_years

# Drug codes: the first 10 characters name the generic drug (spec §4, duplicate_dispensing).
GENERIC_PREFIX_LENGTH: Final = 10
DEFAULT_DAILY_FREQUENCY: Final = 1


@dataclass(frozen=True)
class TableSpec:
    """A table kind: the unit of its rows' values and the settings it accepts."""

    unit: str
    settings: frozenset[str]


# The table kinds: each is a step of the settlement (spec §2), implemented by both back ends.
TABLES: Final = MappingProxyType(
    {
        "deductible": TableSpec("money", frozenset({"complete"})),
        "ratio": TableSpec("ratio", frozenset({"complete", "alias"})),
        "cap": TableSpec("money", frozenset({"complete", "pools"})),
        "limit": TableSpec("money", frozenset({"pools", "programme"})),
        "second_layer": TableSpec("bands", frozenset({"complete", "self_burden", "base"})),
        "pre_self_pay": TableSpec("ratio", frozenset({"complete", "items"})),
        "fund_ceiling": TableSpec("money", frozenset({"complete", "pools"})),
    }
)
TABLE_KINDS: Final = tuple(TABLES)
TABLE_UNITS: Final = MappingProxyType({kind: spec.unit for kind, spec in TABLES.items()})
TABLE_SETTINGS: Final = MappingProxyType({kind: spec.settings for kind, spec in TABLES.items()})


@dataclass(frozen=True)
class ParamSpec:
    """A rule parameter: its value type and, for names, the accepted words."""

    type: str  # "days", "level", "title", "names", "conditions"
    choices: tuple[str, ...] = ()
    required: bool = False
    figure: bool = False  # a figure (needs a citation of its own or the rule's)
    minimum: int = 0  # the least a figure may be


@dataclass(frozen=True)
class KindSpec:
    """A finding kind: its names, where it looks, what it takes, whether rules may stack.

    The declaration is the kind's one home: the checker reads its parameters and tables, the
    result contract its word, explain and the messages its names; each back end implements it
    once (interpret/rules.py LINE_CHECKS / VISIT_CHECKS, compile/rules.py LINE_EMITTERS /
    CLAIM_EMITTERS, keyed as `kinds_at` says — tests/test_registries.py checks both)."""

    zh: str  # the kind's name in Chinese (explain)
    en: str  # in English (messages, explain)
    level: str  # "line", "claim" or "either" (the rule's `scope` parameter decides)
    params: MappingProxyType[str, ParamSpec] = field(default_factory=lambda: MappingProxyType({}))
    tables: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    needs_programme: bool = False
    # Additive kinds list independent reasons (several rules apply side by side);
    # for the others one rule applies per claim, so two that overlap conflict.
    additive: bool = False
    # Visit types the kind never checks (claims spec §4: inpatient supply is no excess): a
    # row of its tables that can apply to one is refused (R006) rather than flag lines.
    unchecked_visits: tuple[str, ...] = ()


def _params(**specs: ParamSpec) -> MappingProxyType[str, ParamSpec]:
    return MappingProxyType(specs)


NOT_COVERED_SELECTORS: Final = ("outside_catalogue", "class_c", "local")
RESTRICTION_CHECKS: Final = ("indication", "level", "sex", "age", "title")
CONTRAINDICATION_CHECKS: Final = ("diagnosis", "sex", "age")
DESIGNATED_CHECKS: Final = ("level", "title", "indication")
# What an amount_limit (限金额) limits: each line's amount, or the claim's lines summed.
AMOUNT_PERIODS: Final = ("line", "visit")
# What a quantity_limit (限数量) sums an item's quantity over: this claim, or the person's day.
QUANTITY_PERIODS: Final = ("visit", "day")
CERTIFIED_FROM: Final = ("any_date", "from_effective")

FindingKind = Literal[
    "not_covered",
    "restricted_use",
    "duplicate_dispensing",
    "excess_supply",
    "contraindication",
    "duplicate_service",
    "certification_required",
    "prescriber_qualification",
    "designated_use",
    "non_selected_drug",
    "quantity_limit",
    "amount_limit",
    "frequency_limit",
    "course_length",
    "department_restricted",
    "scheme_restricted",
]

FINDING_KINDS: Final[MappingProxyType[str, KindSpec]] = MappingProxyType(
    {
        "not_covered": KindSpec(
            "目录外/自费",
            "not covered",
            "line",
            _params(
                items=ParamSpec("names", NOT_COVERED_SELECTORS),
                only_flagged=ParamSpec("names", CATALOGUE_FLAGS),
            ),
            additive=True,
        ),
        "restricted_use": KindSpec(
            "限定支付范围",
            "restricted use",
            "either",
            _params(
                scope=ParamSpec("names", ("line", "claim"), required=True),
                checks=ParamSpec("names", RESTRICTION_CHECKS),
            ),
            additive=True,
        ),
        "duplicate_dispensing": KindSpec(
            "重复开药",
            "duplicate dispensing",
            "line",
            _params(tolerance=ParamSpec("days", required=True, figure=True)),
        ),
        "excess_supply": KindSpec(
            "超量开药",
            "excess supply",
            "line",
            tables=MappingProxyType({"max_days": "days"}),
            unchecked_visits=("inpatient",),
        ),
        "contraindication": KindSpec(
            "超禁忌症使用",
            "contraindication",
            "line",
            _params(checks=ParamSpec("names", CONTRAINDICATION_CHECKS)),
        ),
        "duplicate_service": KindSpec("重复开具诊疗项目", "duplicate service", "line"),
        "certification_required": KindSpec(
            "未认定",
            "certification required",
            "claim",
            _params(conditions=ParamSpec("conditions", required=True, figure=True)),
            needs_programme=True,
        ),
        "prescriber_qualification": KindSpec(
            "医师资质",
            "prescriber qualification",
            "claim",
            _params(
                conditions=ParamSpec("conditions", required=True, figure=True),
                min_title=ParamSpec("title", TITLES, required=True, figure=True),
                # `certified from_effective`: the title is asked of certifications made from
                # the rule's effective date on; one made before stays valid whoever made it
                certified=ParamSpec("names", CERTIFIED_FROM),
            ),
            needs_programme=True,
        ),
        "designated_use": KindSpec(
            "定医院定医师定病种",
            "designated use",
            "line",
            _params(
                checks=ParamSpec("names", DESIGNATED_CHECKS),
                min_level=ParamSpec("level", figure=True),
                min_title=ParamSpec("title", TITLES, figure=True),
            ),
        ),
        "non_selected_drug": KindSpec("非集采中选药品", "non selected drug", "line"),
        # issue 16 item 13: the audit rule bases' limits per item and period, and restrictions
        "quantity_limit": KindSpec(
            "限数量",
            "quantity limit",
            "line",
            _params(per=ParamSpec("names", QUANTITY_PERIODS, required=True)),
        ),
        "amount_limit": KindSpec(
            "限金额",
            "amount limit",
            "line",
            _params(
                per=ParamSpec("names", AMOUNT_PERIODS, required=True),
                kinds=ParamSpec("names", ITEM_KINDS),
            ),
            tables=MappingProxyType({"max_amount": "money"}),
        ),
        "frequency_limit": KindSpec(
            "限频次",
            "frequency limit",
            "line",
            _params(within=ParamSpec("days", required=True, figure=True, minimum=1)),
            tables=MappingProxyType({"max_times": "count"}),
        ),
        "course_length": KindSpec(
            "限疗程", "course length", "line", tables=MappingProxyType({"max_days": "days"})
        ),
        "department_restricted": KindSpec("限专科", "department restricted", "line"),
        "scheme_restricted": KindSpec("限险种", "scheme restricted", "line"),
    }
)


def kinds_at(level: Literal["line", "claim"]) -> frozenset[str]:
    """The finding kinds a back end checks at this level (`either` kinds at both)."""
    return frozenset(k for k, spec in FINDING_KINDS.items() if spec.level in (level, "either"))


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
