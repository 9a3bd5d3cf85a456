"""Hypothesis strategies for valid claims (contract: /work/shared/spec/claims.md §1).

Every claim these strategies produce passes `policyengine.contract.claims.load_claim`; what varies
is everything the rules of Tianjin and Quanzhou look at (facts: /work/shared/facts/*.md):

- visit dates over every version of both policies, with extra weight on the edges of each
  effective-date switch (and, on request, dates before the policy starts: NotInForce);
- employees (working / retired) and residents, hardship groups, both sexes, ages across the
  catalogue's age limits (0–14, 15, adults; birthdays on and around the visit date);
- the four visit types, hospital levels 1–3 and kinds, doctor titles;
- diagnoses from the condition lists (I10–I15, E10–E14, N18 with/without Z49/Z99.2, C00–C97,
  Z94), contraindication codes (K25–K27), codes just outside the ranges, lower-case codes;
- certifications of both programmes, for known and unknown conditions, dated before, on and
  after the visit, with and without a doctor's title;
- items from the catalogue (all 31 codes, with the catalogue's kind) and unknown codes (some
  sharing a 10-character generic prefix with catalogue drugs), repeated codes, identical
  lines; quantities (≤ 3 decimals) and unit prices (≤ 4 decimals, prices on and around the
  catalogue's payment standards, half-up rounding edges) with amount = quantity × unit_price
  rounded half-up to the fen; days_supply around the audit limits (7/8, 30/31, 60/61, 90/91);
- histories: paid per pool up to and beyond the caps and limits, deductibles partly or fully
  met, 大病 self-burden across the band edges, 0/1/3 admissions, dispensing records around the
  duplicate-dispensing tolerances, services on the visit date.

Generation is plain `st.composite` drawing (no filtering), so it stays fast.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE_CSV = ROOT / "policies" / "national" / "catalogue.csv"
CONSTRUCTS = ROOT / "tests" / "policies" / "constructs"
AUDITS = ROOT / "tests" / "policies" / "audits"

REGIONS = ("tianjin", "quanzhou")
# The cities bundled later (issue 16): their generated claims go through the differential
# tests (both back ends alike); the property oracles follow Tianjin's and Quanzhou's rules.
NEW_CITIES = ("weihai", "chengdu")
# The test policies of the language's constructs (tests/policies/): claims of contract version 2.
TEST_REGIONS = ("constructs", "yearjiao", "audits", "payments", "figures")


def policy_dir(region: str) -> Path:
    """Where a region's policy is: a bundled city, or a test policy of tests/policies/."""
    return ROOT / ("tests/policies" if region in TEST_REGIONS else "policies") / region


SCHEMES = ("employee", "resident")
STATUSES = ("working", "retired")
VISIT_TYPES = ("outpatient", "special_outpatient", "two_disease", "inpatient")
HOSPITAL_KINDS = ("general", "tcm", "community", "specialist")
TITLES = ("resident", "attending", "associate_chief", "chief")
GROUPS = (
    "low_income",
    "low_income_edge",
    "extremely_poor",
    "severely_disabled",
    "poverty_registered",
)
PROGRAMMES = ("special_outpatient", "two_disease")
ITEM_KINDS = ("drug", "service", "material", "bed")
PAID_POOLS = ("outpatient", "special_outpatient", "two_disease", "inpatient", "critical_illness")
DEDUCTIBLE_POOLS = ("outpatient", "special_outpatient", "two_disease")
KNOWN_CONDITIONS = (
    "hypertension",
    "diabetes",
    "uremia_dialysis",
    "malignant_tumour",
    "organ_transplant",
)
UNKNOWN_CONDITIONS = ("asthma", "copd", "Hypertension", "tuberculosis")

D = dt.date
START = {
    "tianjin": D(2014, 1, 1),
    "quanzhou": D(2014, 1, 1),
    "weihai": D(2014, 1, 1),
    "chengdu": D(2014, 1, 1),
    "constructs": D(2014, 1, 1),
    "yearjiao": D(2014, 1, 1),
    "audits": D(2014, 1, 1),
    "payments": D(2014, 1, 1),
    "figures": D(2014, 1, 1),
}
# Effective-date switches of each policy (its versions) and the other dates a rule changes on.
VERSIONS = {
    "tianjin": (D(2014, 1, 1), D(2014, 7, 1), D(2019, 1, 1), D(2023, 1, 1)),
    "quanzhou": (D(2014, 1, 1), D(2020, 1, 24), D(2021, 11, 25), D(2023, 1, 8)),
    "weihai": (D(2014, 1, 1), D(2019, 1, 1)),
    "chengdu": (D(2014, 1, 1), D(2019, 1, 1), D(2020, 1, 1)),
    "constructs": (D(2014, 1, 1),),
    "yearjiao": (D(2014, 1, 1),),
    "audits": (D(2014, 1, 1),),
    "payments": (D(2014, 1, 1),),
    "figures": (D(2014, 1, 1),),
}
EDGES = {
    "tianjin": (*VERSIONS["tianjin"], D(2018, 12, 31), D(2022, 12, 31)),
    "quanzhou": (*VERSIONS["quanzhou"], D(2021, 11, 24), D(2023, 1, 7)),
    "weihai": (*VERSIONS["weihai"], D(2018, 12, 31)),
    "chengdu": (*VERSIONS["chengdu"], D(2018, 12, 31), D(2019, 12, 31)),
    "constructs": (*VERSIONS["constructs"], D(2024, 1, 1), D(2023, 12, 31)),
    "yearjiao": (*VERSIONS["yearjiao"], D(2024, 10, 1), D(2024, 9, 30)),
    "audits": (*VERSIONS["audits"], D(2024, 3, 5)),
    "payments": (*VERSIONS["payments"], D(2024, 1, 1), D(2023, 12, 31)),
    "figures": (*VERSIONS["figures"], D(2024, 6, 20)),
}
LATEST = D(2026, 12, 31)

# Diagnoses: each condition list with codes just inside and outside it, the catalogue's
# contraindications, other codes, and lower-case variants (matching is case-insensitive).
HYPERTENSION_DX = ("I10", "I10.x00", "I11.900", "I13.2", "I15.0", "I09.9", "I16.0")  # I10–I15
DIABETES_DX = ("E10.9", "E11.900", "E11.2", "E14", "E09", "E15.x00", "E16.1")  # E10–E14
UREMIA_DX = ("N18.5", "N18.900", "N19", "Z49.1", "Z49", "Z99.2", "Z99.1", "Z992")  # N18 + Z49/Z99.2
TUMOUR_DX = ("C34.1", "C34.900", "C00.0", "C97", "C98", "D00.0", "C50.9")  # C00–C97
TRANSPLANT_DX = ("Z94.0", "Z94", "Z95.1")  # Z94
CONTRA_DX = ("K25.0", "K26", "K27.9", "K28")  # 布洛芬 contraindicated with K25–K27
OTHER_DX = ("J18.9", "R50.9", "M54.5", "A09")
# Weihai's conditions (严重精神障碍 F20/F22/F25/F31, 脑瘫 G80, 孤独症 F84, 智力残疾 F70–F79) and
# codes beside them
WEIHAI_DX = (
    "F20.0",
    "F22",
    "F25.1",
    "F31.9",
    "F21",
    "F32.0",
    "G80.9",
    "G81",
    "F84.0",
    "F70",
    "F79.9",
    "F80",
)
LOWER_DX = (
    "i10",
    "e11.900",
    "n18.5",
    "z49.1",
    "z99.2",
    "c34.1",
    "z94.0",
    "k25.0",
    "e10.9",
    "i15.0",
)
DIAGNOSES = (
    HYPERTENSION_DX
    + DIABETES_DX
    + UREMIA_DX
    + TUMOUR_DX
    + TRANSPLANT_DX
    + CONTRA_DX
    + OTHER_DX
    + WEIHAI_DX
    + LOWER_DX
)
# Diagnoses that make each condition (for certifications that match the visit).
CONDITION_DX = {
    "hypertension": ("I10", "I11.900", "I15.0", "i10"),
    "diabetes": ("E11.900", "E10.9", "E14", "e11.900"),
    "uremia_dialysis": ("N18.5", "n18.5"),
    "malignant_tumour": ("C34.1", "C97", "c34.1"),
    "organ_transplant": ("Z94.0", "z94.0"),
}

DAYS_SUPPLY = (0, 1, 3, 6, 7, 8, 14, 28, 29, 30, 31, 45, 59, 60, 61, 89, 90, 91, 120, 180)

# Annual figures from the facts (caps, limits, deductibles, 大病 band edges) for histories.
CAP_FIGURES = (
    300,
    500,
    800,
    1500,
    2500,
    3000,
    4000,
    5000,
    5500,
    7500,
    150000,
    200000,
    250000,
    300000,
    350000,
    450000,
)
DEDUCTIBLE_FIGURES = (0, 200, 250, 300, 400, 500, 700, 800, 1000, 1300)
BAND_EDGES = (10000, 15000, 20000, 30000, 50000, 100000, 200000, 300000, 400000)


@dataclass(frozen=True)
class Entry:
    code: str
    kind: str
    cls: str
    generic: str
    price_cap: Decimal | None
    local_region: str
    daily_frequency: int | None


def _catalogue(path: Path = CATALOGUE_CSV) -> dict[str, Entry]:
    out = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            out[row["code"]] = Entry(
                code=row["code"],
                kind=row["kind"],
                cls=row["class"],
                generic=row["generic"],
                price_cap=Decimal(row["price_cap"]) if row["price_cap"] else None,
                local_region=row["local_region"],
                daily_frequency=int(row["daily_frequency"]) if row["daily_frequency"] else None,
            )
    return out


CATALOGUE = _catalogue()
CATALOGUE_CODES = tuple(CATALOGUE)
# The catalogue a region's claims draw from: the national one, or a test policy's own.
CATALOGUES = {
    **dict.fromkeys(REGIONS + NEW_CITIES, CATALOGUE),
    "constructs": _catalogue(CONSTRUCTS / "catalogue.csv"),
    "yearjiao": _catalogue(CONSTRUCTS / "catalogue.csv"),
    "audits": _catalogue(AUDITS / "catalogue.csv"),
    "payments": _catalogue(ROOT / "tests" / "policies" / "payments" / "catalogue.csv"),
    "figures": _catalogue(ROOT / "tests" / "policies" / "figures" / "catalogue.csv"),
}
# Codes the catalogue does not hold: some share the 10-character generic prefix of a
# catalogue drug, one is a catalogue code in lower case, the rest are unrelated.
UNKNOWN_CODES = (
    "XC08CAA001A001010009999",  # prefix of amlodipine
    "XA10BAE054B002020002099",  # prefix of metformin
    "XZ99ZZZ999A001010001099",
    "xc08caa001a001010001001",  # a catalogue code in lower case
    "009999000010000",  # a service-like code
    "002501010150001",
    "C9999999999999",
    "B1",
)


def money_text(value: Decimal) -> str:
    return format(value, "f")


def json_money(value: Decimal) -> int | Decimal:
    """Money as a JSON number would arrive (parsed exactly): an int or a Decimal."""
    return int(value) if value == value.to_integral_value() else value


def json_text(claim: dict[str, Any]) -> str:
    """The claim as JSON text; Decimals become JSON numbers written exactly (str(Decimal))."""

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"@@number:{value}@@"
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(claim), ensure_ascii=False)
    return re.sub(r'"@@number:([0-9.E+-]+)@@"', r"\1", text)


def fen(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def _shift(day: dt.date, days: int) -> dt.date:
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return day


# ------------------------------------------------------------------ drawing helpers
# Strategies are built once, at import: building strategy objects inside a draw is what
# makes generation slow. Values that depend on earlier draws (dates relative to the visit,
# codes from the claim's own pool) are computed from drawn offsets and indexes.

_INDEX: dict[int, st.SearchStrategy[int]] = {}


def pick(draw: st.DrawFn, options: tuple[Any, ...] | list[Any]) -> Any:
    """One of `options` (shrinking towards the first)."""
    size = len(options)
    if size == 1:
        return options[0]
    strategy = _INDEX.get(size)
    if strategy is None:
        strategy = _INDEX[size] = st.integers(0, size - 1)
    return options[draw(strategy)]


def chance(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in `one_in` draws (False when shrunk)."""
    return pick(draw, range(one_in)) == one_in - 1


_BOOL = st.booleans()
_EDGE_OFFSET = st.integers(-3, 3)
_BEFORE_START = st.integers(-400, -1)
_ANY_DATE = {region: st.dates(min_value=START[region], max_value=LATEST) for region in START}


# ------------------------------------------------------------------ dates


@st.composite
def visit_dates(draw: st.DrawFn, region: str, *, in_force: bool = True) -> dt.date:
    """Dates across every version, near the edges often; before the start if not in_force."""
    start = START[region]
    how = pick(draw, (0, 1, 0, 1, 2) if not in_force else (0, 1))  # 1 in 5 before the start
    if how == 0:
        return (
            max(start, _shift(pick(draw, EDGES[region]), draw(_EDGE_OFFSET)))
            if in_force
            else _shift(pick(draw, EDGES[region]), draw(_EDGE_OFFSET))
        )
    if how == 1:
        return draw(_ANY_DATE[region])
    return _shift(start, draw(_BEFORE_START))


_AGE = st.one_of(st.sampled_from((0, 1, 13, 14, 15, 16, 17, 18, 45, 70)), st.integers(0, 100))
_BIRTHDAY_OFFSET = st.one_of(st.sampled_from((0, -1, 1)), st.integers(-364, 364))


def birth_date(draw: st.DrawFn, visit: dt.date) -> dt.date:
    """Ages 0–14, 15, 16, adults and the old; birthdays on, just before and after the visit."""
    age = draw(_AGE)
    try:
        anniversary = visit.replace(year=visit.year - age)
    except ValueError:  # 29 February
        anniversary = visit.replace(year=visit.year - age, day=28)
    return min(_shift(anniversary, draw(_BIRTHDAY_OFFSET)), visit)


# ------------------------------------------------------------------ person
# Half the claims are drawn "coherent": the diagnoses name a condition, the person holds a
# certification for it in the visit's programme, lines are distinct and within the audit
# limits, earlier supplies have run out. Those claims reach the payers (deductible, ratio,
# caps, per-condition limits, 大病); the others exercise the findings.

_SINCE_OFFSET = st.one_of(st.just(0), st.integers(-900, -1), st.integers(1, 60))
_SINCE_PAST = st.one_of(st.just(0), st.integers(-900, -1))
_CERT_TITLE = st.one_of(st.none(), st.sampled_from(TITLES))
_GOOD_TITLE = st.sampled_from(("associate_chief", "chief", "associate_chief", "attending", None))
_ALL_CONDITIONS = KNOWN_CONDITIONS + UNKNOWN_CONDITIONS
_DX_CONDITION = {code.upper(): name for name, codes in CONDITION_DX.items() for code in codes}


def certification(draw: st.DrawFn, visit: dt.date, diagnoses: list[str]) -> dict[str, Any]:
    implied = sorted({_DX_CONDITION[d.upper()] for d in diagnoses if d.upper() in _DX_CONDITION})
    condition = pick(draw, implied) if implied and draw(_BOOL) else pick(draw, _ALL_CONDITIONS)
    cert: dict[str, Any] = {
        "condition": condition,
        "programme": pick(draw, PROGRAMMES),
        "since": _shift(visit, draw(_SINCE_OFFSET)).isoformat(),
    }
    title = draw(_CERT_TITLE)
    if title is not None or draw(_BOOL):
        cert["doctor_title"] = title  # None: an explicit null, which counts as absent
    if draw(_BOOL):
        cert["hospital_id"] = pick(draw, ("H0001", "H0002", "C0100"))
    return cert


def matching_certification(draw: st.DrawFn, visit: dict[str, Any]) -> dict[str, Any] | None:
    """A certification for a condition of the visit's diagnoses, in the visit's programme."""
    day = dt.date.fromisoformat(visit["date"])
    implied = sorted(
        {_DX_CONDITION[d.upper()] for d in visit["diagnoses"] if d.upper() in _DX_CONDITION}
    )
    if not implied:
        return None
    programme = visit["type"] if visit["type"] in PROGRAMMES else pick(draw, PROGRAMMES)
    cert = {
        "condition": pick(draw, implied),
        "programme": programme,
        "since": _shift(day, draw(_SINCE_PAST)).isoformat(),
    }
    title = draw(_GOOD_TITLE)
    if title is not None:
        cert["doctor_title"] = title
    return cert


_GROUPS = st.one_of(
    st.just([]),
    st.lists(st.sampled_from(GROUPS), unique=True, max_size=3),
    st.lists(st.sampled_from(GROUPS), max_size=3),
)  # repeats are valid too
_COUNT_0_3 = st.integers(0, 3)
_COUNT_0_2 = st.integers(0, 2)


def person(draw: st.DrawFn, visit: dict[str, Any], coherent: bool) -> dict[str, Any]:
    day = dt.date.fromisoformat(visit["date"])
    scheme = pick(draw, SCHEMES)
    if coherent and visit["type"] == "two_disease" and draw(_BOOL):
        scheme = "resident"
    out: dict[str, Any] = {
        "id": pick(draw, ("P000001", "P000002", "P9")),
        "scheme": scheme,
        "birth_date": birth_date(draw, day).isoformat(),
        "sex": pick(draw, ("male", "female")),
    }
    if scheme == "employee":
        out["status"] = pick(draw, STATUSES)
    elif chance(draw, 4):  # ignored for residents; null counts as absent
        out["status"] = pick(draw, (None, *STATUSES))
    groups = draw(_GROUPS)
    if groups or draw(_BOOL):
        out["groups"] = groups
    certs = [
        certification(draw, day, visit["diagnoses"])
        for _ in range(draw(_COUNT_0_2 if coherent else _COUNT_0_3))
    ]
    if coherent:
        cert = matching_certification(draw, visit)
        if cert is not None:
            certs.insert(pick(draw, range(len(certs) + 1)), cert)
    if certs or draw(_BOOL):
        out["certifications"] = certs
    return out


# ------------------------------------------------------------------ visit

_DIAGNOSES = st.lists(st.sampled_from(DIAGNOSES), max_size=4)
_FEW_DIAGNOSES = st.lists(st.sampled_from(DIAGNOSES), max_size=2)
_LEVEL = st.integers(1, 3)
_ADMITTED = st.integers(0, 40)


def visit(draw: st.DrawFn, day: dt.date, visit_type: str | None, coherent: bool) -> dict[str, Any]:
    vtype = visit_type or pick(draw, VISIT_TYPES)
    diagnoses = draw(_FEW_DIAGNOSES if coherent else _DIAGNOSES)
    if coherent:
        conditions = ("hypertension", "diabetes") if vtype in PROGRAMMES else KNOWN_CONDITIONS
        codes = CONDITION_DX[pick(draw, conditions)]
        diagnoses.insert(0, pick(draw, codes))
        if diagnoses[0].upper().startswith("N18") and draw(_BOOL):
            diagnoses.append(pick(draw, ("Z49.1", "Z99.2", "z49.1")))
    level = draw(_LEVEL)
    if coherent and vtype == "two_disease" and level == 3 and draw(_BOOL):
        level = 2
    out: dict[str, Any] = {
        "type": vtype,
        "date": day.isoformat(),
        "hospital": {
            "id": pick(draw, ("H0001", "H0002", "H0300")),
            "level": level,
            "kind": pick(draw, HOSPITAL_KINDS),
        },
        "doctor": {"id": "D0101", "title": pick(draw, TITLES)},
        "diagnoses": diagnoses,
    }
    if vtype == "inpatient" and draw(_BOOL):
        out["admitted"] = _shift(day, -draw(_ADMITTED)).isoformat()
    return out


# ------------------------------------------------------------------ items

_QUANTITY = st.one_of(
    st.integers(1, 30).map(Decimal),
    st.sampled_from(
        ("0.001", "0.5", "1", "1.333", "2", "2.5", "3", "14", "28", "30", "60", "90")
    ).map(Decimal),
    st.integers(1, 99_999).map(lambda n: Decimal(n).scaleb(-3)),
)
_QUANTITY_FRACTION = st.integers(1, 9_999).map(lambda n: Decimal(n).scaleb(-3))
_PRICE_SMALL = st.integers(0, 2_000_000).map(lambda n: Decimal(n).scaleb(-4))  # 0–200 元, 4 places
_PRICE_EDGE = st.sampled_from(
    ("0", "0.0001", "0.0050", "0.0049", "0.1250", "0.12", "2.3450", "19.99")
).map(Decimal)  # half-up edges
_PRICE_LARGE = st.integers(1_000, 300_000).map(Decimal)  # big-ticket items
_CAP_DELTA = st.sampled_from(
    ("0", "0.0001", "-0.0001", "0.0049", "0.0050", "0.0051", "-0.0050", "0.01", "1", "-1", "2.5")
).map(Decimal)
_DAYS_SUPPLY = st.one_of(st.none(), st.sampled_from(DAYS_SUPPLY), st.integers(0, 200))
_DAYS_SUPPLY_SET = st.sampled_from(DAYS_SUPPLY)
_DAYS_SUPPLY_SHORT = st.one_of(st.none(), st.integers(0, 7))


def unit_price(draw: st.DrawFn, entry: Entry | None, large: bool) -> Decimal:
    how = pick(draw, (0, 1, 2, 3))
    if entry is not None and entry.price_cap is not None and (how == 0 or draw(_BOOL)):
        return max(Decimal(0), entry.price_cap + draw(_CAP_DELTA))
    if how == 3 and large:
        return draw(_PRICE_LARGE)
    if how == 2:
        return draw(_PRICE_EDGE)
    return draw(_PRICE_SMALL)


def item_code(draw: st.DrawFn, catalogue: dict[str, Entry] = CATALOGUE) -> str:
    if chance(draw, 4):
        return pick(draw, UNKNOWN_CODES)
    return pick(draw, CATALOGUE_CODES if catalogue is CATALOGUE else tuple(catalogue))


# Catalogue codes a coherent claim prefers: no restriction, class A or B, not local.
PLAIN_CODES = (
    "XC08CAA001A001010001001",
    "XC09CAE012A001010001003",
    "XA10BAE054A001010001005",
    "XA10BBG031A001010001007",
    "XA10BFA026A001010001008",
    "XJ01CAA040A001010001013",
    "XJ01DDT094A001010001014",
    "XA11GAW043A001010001021",
    "001101000010000",
    "002501010150000",
    "002503040250000",
    "002102000010000",
    "001103000010000",
    "C0310101001000",
    "C0211023001000",
    "XA10BKD104A001010001010",
)
TWO_DISEASE_CODES = tuple(
    code
    for code in CATALOGUE_CODES
    if code
    in {
        "XC08CAA001A001010001001",
        "XC08CAA001A001010001002",
        "XC09CAE012A001010001003",
        "XC08CAX047A001010001004",
        "XA10BAE054A001010001005",
        "XA10BAE054A001010001006",
        "XA10BBG031A001010001007",
        "XA10BFA026A001010001008",
    }
)


def item(
    draw: st.DrawFn,
    line: int,
    code: str | None = None,
    *,
    large: bool = False,
    coherent: bool = False,
    catalogue: dict[str, Entry] = CATALOGUE,
) -> dict[str, Any]:
    """One item: the catalogue's kind for catalogue codes, any kind for unknown codes."""
    code = code if code is not None else item_code(draw, catalogue)
    entry = catalogue.get(code)
    kind = entry.kind if entry is not None else pick(draw, ITEM_KINDS)
    if entry is not None and chance(
        draw, 12
    ):  # a claim that gets the kind wrong: the catalogue's prevails
        kind = pick(draw, ITEM_KINDS)
    quantity = draw(
        _QUANTITY_FRACTION
        if entry is not None and entry.price_cap is not None and draw(_BOOL)
        else _QUANTITY
    )
    price = unit_price(draw, entry, large)
    out: dict[str, Any] = {
        "line": line,
        "code": code,
        "kind": kind,
        "quantity": money_text(quantity),
        "unit_price": money_text(price),
        "amount": money_text(fen(quantity * price)),
    }
    if kind == "drug":
        supply = draw(_DAYS_SUPPLY_SHORT if coherent else _DAYS_SUPPLY)
        if supply is not None or draw(_BOOL):
            out["days_supply"] = supply  # None: an explicit null
    elif chance(draw, 10):
        out["days_supply"] = draw(_DAYS_SUPPLY_SET)
    if chance(draw, 4):
        out["name"] = pick(draw, ("药品", "检查", None))
    # JSON numbers instead of strings now and then (parsed exactly: ints and Decimals,
    # some written with an exponent, e.g. 2.5E+2, which is still a JSON number).
    if chance(draw, 6):
        exponent = draw(_BOOL)
        for key in ("quantity", "unit_price", "amount"):
            value = Decimal(out[key])
            if exponent and value:
                out[key] = value.normalize()
            else:
                out[key] = int(value) if value == value.to_integral_value() else value
    return out


_LINE_NUMBERS = {
    n: st.lists(st.integers(1, 99), min_size=n, max_size=n, unique=True) for n in range(1, 13)
}
_POOL_SIZE = st.integers(1, 4)
_ITEM_COUNT = {n: st.integers(1, n) for n in range(1, 13)}


def item_list(
    draw: st.DrawFn,
    vtype: str,
    *,
    max_items: int = 8,
    large: bool = False,
    coherent: bool = False,
    catalogue: dict[str, Entry] = CATALOGUE,
) -> list[dict[str, Any]]:
    """Items with unique (not necessarily consecutive) line numbers, in any order.

    Codes come from a small per-claim pool, so repeated codes and repeated generic
    prefixes are common; now and then a line is an exact copy (same covered amount).
    Coherent claims use distinct codes of distinct generics, mostly payable ones.
    """
    count = draw(_ITEM_COUNT[max_items])
    lines = list(range(1, count + 1)) if draw(_BOOL) else draw(_LINE_NUMBERS[count])
    pool = [item_code(draw, catalogue) for _ in range(draw(_POOL_SIZE))]
    payable = TWO_DISEASE_CODES if vtype == "two_disease" else PLAIN_CODES
    if catalogue is not CATALOGUE:  # a test policy's catalogue: any of its codes
        payable = tuple(catalogue)
    out: list[dict[str, Any]] = []
    prefixes: set[str] = set()
    for line in lines:
        if coherent:
            code = pick(draw, payable) if not chance(draw, 6) else item_code(draw, catalogue)
            if code[:10] in prefixes:
                continue
            prefixes.add(code[:10])
            new = item(draw, line, code, large=large, coherent=True, catalogue=catalogue)
            if out and chance(draw, 4):  # the same money as the line before (equal covered amounts)
                for key in ("quantity", "unit_price", "amount"):
                    new[key] = out[-1][key]
            out.append(new)
            continue
        if out and chance(draw, 5):
            copy = dict(out[-1])
            copy["line"] = line
            out.append(copy)
            continue
        code = pick(draw, pool) if draw(_BOOL) else item_code(draw, catalogue)
        out.append(item(draw, line, code, large=large, catalogue=catalogue))
    if len(out) > 1 and chance(draw, 3):  # any order: the engine sorts by line
        out = out[::-1] if draw(_BOOL) else out[1:] + out[:1]
    return out


# ------------------------------------------------------------------ history

_NEAR_DELTA = st.sampled_from(("0", "-0.01", "0.01", "-1", "1", "-100", "100", "-1000")).map(
    Decimal
)
_MONEY_ANY = st.integers(0, 60_000_000).map(lambda n: Decimal(n).scaleb(-2))


def near(draw: st.DrawFn, figures: tuple[int, ...]) -> Decimal:
    how = pick(draw, (0, 1, 1, 2))
    if how == 0:
        return Decimal(0)
    if how == 1:
        return max(Decimal(0), pick(draw, figures) + draw(_NEAR_DELTA))
    return draw(_MONEY_ANY)


_ADMISSIONS = st.one_of(st.sampled_from((0, 1, 3)), st.integers(0, 12))
_AGO = st.one_of(st.integers(-5, 120), st.sampled_from((0, 1, 7, 30)))  # negative: after the visit
_LEFT = st.one_of(st.sampled_from((-1, 0, 2, 3, 4, 6, 7, 8, 30)), st.integers(-30, 90))
_LEFT_LOW = st.sampled_from((-10, -1, 0, 1, 2, 3))
# the day, around it, and around the audits policy's 7-day frequency window
_SERVICE_DAY = st.sampled_from((0, 0, 0, -1, 1, -6, -7))
# a history record's quantity (engine-added; absent: one), around the audits policy's limits
_RECORD_QUANTITY = st.sampled_from(("1", "2.5", "10", "29", "30"))
_SERVICE_CODES = tuple(c for c, e in CATALOGUE.items() if e.kind == "service")


def history(
    draw: st.DrawFn, day: dt.date, claim_items: list[dict[str, Any]], coherent: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    as_json = json_money if chance(draw, 5) else money_text  # JSON numbers now and then
    paid = {pick(draw, PAID_POOLS): near(draw, CAP_FIGURES) for _ in range(draw(_COUNT_0_3))}
    if paid or draw(_BOOL):
        out["paid"] = {k: as_json(v) for k, v in paid.items()}
    met = {
        pick(draw, DEDUCTIBLE_POOLS): near(draw, DEDUCTIBLE_FIGURES)
        for _ in range(draw(_COUNT_0_3))
    }
    if met:
        out["deductible_met"] = {k: as_json(v) for k, v in met.items()}
    if not chance(draw, 3):
        out["self_burden"] = {"inpatient": as_json(near(draw, BAND_EDGES))}
    if draw(_BOOL):
        out["admissions"] = draw(_ADMISSIONS)

    drug_codes = [i["code"] for i in claim_items if i["kind"] == "drug"] or [
        "XC08CAA001A001010001001"
    ]
    records = []
    for _ in range(draw(_COUNT_0_2 if coherent else _COUNT_0_3)):
        # days left on the visit date = date + days_supply − visit, around the tolerances 3 and 7
        ago, left = draw(_AGO), draw(_LEFT_LOW if coherent else _LEFT)
        how = pick(draw, (0, 1, 2))
        code = pick(draw, drug_codes)
        if how == 1:  # same generic (first 10 characters), another product
            code = code[:10] + "Z" * max(0, len(code) - 10)
        elif how == 2:
            code = item_code(draw)
        records.append(
            {
                "code": code,
                "date": _shift(day, -ago).isoformat(),
                "days_supply": max(0, min(3660, ago + left)),
                **({"quantity": draw(_RECORD_QUANTITY)} if chance(draw, 3) else {}),
            }
        )
    if records:
        out["dispensed"] = records

    service_codes = (
        tuple(i["code"] for i in claim_items if i["kind"] == "service") + _SERVICE_CODES[:2]
    )
    services = [
        {
            "code": pick(draw, service_codes),
            "date": _shift(day, draw(_SERVICE_DAY)).isoformat(),
            **({"quantity": draw(_RECORD_QUANTITY)} if chance(draw, 4) else {}),
        }
        for _ in range(draw(_COUNT_0_2 if coherent else _COUNT_0_3))
    ]
    if services:
        out["services"] = services
    return out


# ------------------------------------------------------------------ claims


@st.composite
def claims(
    draw: st.DrawFn,
    region: str | None = None,
    *,
    in_force: bool = True,
    visit_type: str | None = None,
    max_items: int = 8,
) -> dict[str, Any]:
    """A valid claim (JSON-shaped dict) for `region` (either, if None)."""
    region = region or pick(draw, REGIONS)
    coherent = draw(_BOOL)
    day = draw(visit_dates(region, in_force=in_force))
    the_visit = visit(draw, day, visit_type, coherent)
    large = the_visit["type"] in ("inpatient", "special_outpatient") and draw(_BOOL)
    claim_items = item_list(
        draw,
        the_visit["type"],
        max_items=max_items,
        large=large,
        coherent=coherent,
        catalogue=CATALOGUES[region],
    )
    claim: dict[str, Any] = {
        "id": pick(draw, ("TJ-2024-000001", "QZ-1", "C")),
        "region": region,
        "person": person(draw, the_visit, coherent),
        "visit": the_visit,
        "items": claim_items,
    }
    the_history = history(draw, day, claim_items, coherent)
    version_2(draw, claim, the_history, day, region)
    if the_history or draw(_BOOL):
        claim["history"] = the_history
    return claim


# ------------------------------------------------------------------ contract version 2
# The facts of spec §5, drawn for every region (a policy that does not use one ignores it):
# remote care, referrals, departments, tiers, enrolment years, the year's pooled amounts and
# the benefit year. A tier is one the region declares (an undeclared one is refused).

PLACES = ("local", "in_province", "out_of_province")
DEPARTMENTS = ("psychiatry", "cardiology", "oncology", "neurology")
DECLARED_TIERS = {"constructs": ("high", "low", "student"), "chengdu": ("high", "low", "student")}
BENEFIT_YEARS = {"yearjiao": (10, 1)}  # (month, day); the others run calendar years
ENROLLED_YEARS = (0, 1, 4, 5, 9, 10, 11, 15, 20, 30, 40)
POOLED_FIGURES = (0, 1000, 5000, 10000, 20000, 50000, 100000, 200000)


def version_2(
    draw: st.DrawFn, claim: dict[str, Any], the_history: dict[str, Any], day: dt.date, region: str
) -> None:
    the_visit, the_person = claim["visit"], claim["person"]
    if chance(draw, 3):
        the_visit["place"] = pick(draw, PLACES)
    if chance(draw, 3):
        the_visit["filed"] = draw(_BOOL)
    if chance(draw, 4):
        the_visit["referral"] = {
            "from": {"id": "H0900", "level": draw(_LEVEL), "kind": pick(draw, HOSPITAL_KINDS)},
            "within_alliance": draw(_BOOL),
        }
    if chance(draw, 3):
        the_visit["department"] = pick(draw, DEPARTMENTS)
    tiers = DECLARED_TIERS.get(region, ("tier1", "tier2"))
    if chance(draw, 2):
        the_person["tier"] = pick(draw, tiers)
    if chance(draw, 2):
        the_person["enrolled_years"] = pick(draw, ENROLLED_YEARS)
    if chance(draw, 3):
        pooled = {pick(draw, VISIT_TYPES): near(draw, POOLED_FIGURES) for _ in range(2)}
        the_history["pooled"] = {k: money_text(max(Decimal(0), v)) for k, v in pooled.items()}
    if chance(draw, 6):  # the policy's own benefit year (another is refused)
        month, first = BENEFIT_YEARS.get(region, (1, 1))
        start = D(day.year, month, first)
        start = start if start <= day else D(day.year - 1, month, first)
        the_history["benefit_year_start"] = start.isoformat()


_EXTRA_GAP = st.integers(1, 5)


@st.composite
def claims_with_extra_line(
    draw: st.DrawFn, region: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A claim and one more item whose line number is above all the claim's lines."""
    claim = draw(claims(region, max_items=6))
    top = max(i["line"] for i in claim["items"])
    extra = item(
        draw,
        top + draw(_EXTRA_GAP),
        large=claim["visit"]["type"] == "inpatient",
        coherent=draw(_BOOL),
    )
    return claim, extra


def as_of_dates(region: str) -> st.SearchStrategy[dt.date]:
    """A date to settle on other than the visit date: any version, an edge, or before the start."""
    return visit_dates(region, in_force=False)


# ------------------------------------------------------------------ targeted: equal lines

# Class A catalogue items without restrictions, of distinct generics, in both regions.
CLASS_A_PLAIN = (
    ("XC08CAA001A001010001001", "drug"),
    ("XC08CAX047A001010001004", "drug"),
    ("XA10BAE054A001010001005", "drug"),
    ("XJ01CAA040A001010001013", "drug"),
    ("XA11GAW043A001010001021", "drug"),
    ("001101000010000", "service"),
    ("002501010150000", "service"),
    ("002503040250000", "service"),
)
_EQUAL_COUNT = st.integers(2, len(CLASS_A_PLAIN))
_EQUAL_AMOUNT = st.one_of(
    st.sampled_from(("1", "0.01", "0.03", "3.33", "10")), st.integers(1, 5000).map(str)
)
_BASE_FEN = st.integers(0, 40)


@st.composite
def equal_line_claims(draw: st.DrawFn, region: str) -> dict[str, Any]:
    """An outpatient claim of n payable lines with equal covered amounts, whose deductible
    leaves only a few fen to pay: the case where per-line shares round the most."""
    claim = draw(claims(region, visit_type="outpatient", max_items=1))
    count = draw(_EQUAL_COUNT)
    amount = Decimal(draw(_EQUAL_AMOUNT))
    claim["items"] = [
        {
            "line": n + 1,
            "code": code,
            "kind": kind,
            "quantity": "1",
            "unit_price": money_text(amount),
            "amount": money_text(fen(amount)),
        }
        for n, (code, kind) in enumerate(CLASS_A_PLAIN[:count])
    ]
    claim["person"]["certifications"] = []
    claim["visit"]["diagnoses"] = ["I10"]
    deductible = {
        ("tianjin", "employee", "working"): 800,
        ("tianjin", "employee", "retired"): 700,
        ("quanzhou", "employee", "working"): 700,
        ("quanzhou", "employee", "retired"): 700,
    }
    figure = deductible.get(
        (region, claim["person"]["scheme"], claim["person"].get("status")),
        500 if region == "tianjin" else 0,
    )
    left = max(Decimal(0), fen(amount) * count - Decimal(draw(_BASE_FEN)).scaleb(-2))
    met = max(Decimal(0), Decimal(figure) - left)
    claim["history"] = {"deductible_met": {"outpatient": money_text(met)}}
    return claim
