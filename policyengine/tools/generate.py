"""`policyengine generate`: a year of realistic claims per person, deterministic by seed.

Persons get a scheme and status, an age, a contribution tier where the policy declares
tiers (`tiers`, read from the policy by the caller: nothing here names a city), sometimes a
hardship group and chronic conditions (hypertension, diabetes) with certifications; each
has outpatient visits, monthly special-outpatient or 两病 visits when certified, and
sometimes an admission. Items come from the catalogue sample with plausible quantities,
prices and days supply, and now and then a claim carries a planted problem (a repeated
drug, too many days, a restricted drug) so that audit rules have work. Output claims carry
no history: batch builds each person's ledger.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from policyengine.semantics.money import fen
from policyengine.semantics.vocabulary import GROUPS, HOSPITAL_KINDS, SEXES, TITLES

# (code, kind, unit price range, quantity range, days supply range or None)
OUTPATIENT_DRUGS = (
    ("XJ01CAA040A001010001013", "drug", (8, 25), (1, 2), (3, 7)),
    ("XJ01DDT094A001010001014", "drug", (20, 60), (1, 2), (3, 7)),
    ("XM01AEB014A001010001016", "drug", (10, 30), (1, 2), (3, 7)),
    ("XA11GAW043A001010001021", "drug", (2, 6), (1, 3), (3, 7)),
    ("XB01ACA056A001010001017", "drug", (10, 20), (1, 2), (5, 7)),
)
CHRONIC_DRUGS = {
    "hypertension": (
        ("XC08CAA001A001010001001", "drug", (0.1, 0.3), (28, 60), (28, 30)),
        ("XC09CAE012A001010001003", "drug", (0.5, 1.5), (28, 60), (28, 30)),
        ("XC08CAX047A001010001004", "drug", (0.8, 2.0), (28, 60), (28, 30)),
    ),
    "diabetes": (
        ("XA10BAE054A001010001005", "drug", (0.05, 0.2), (28, 90), (28, 30)),
        ("XA10BBG031A001010001007", "drug", (0.5, 2.0), (28, 60), (28, 30)),
        ("XA10BFA026A001010001008", "drug", (1.0, 3.0), (28, 60), (28, 30)),
    ),
}
SERVICES = (
    ("001101000010000", "service", (5, 30), (1, 1), None),
    ("002501010150000", "service", (15, 30), (1, 1), None),
    ("002503040250000", "service", (40, 80), (1, 1), None),
)
INPATIENT = (
    ("002102000010000", "service", (150, 400), (1, 2), None),
    ("C0310101001000", "material", (3, 10), (2, 10), None),
    ("XJ01XAT055A001010001015", "drug", (80, 200), (2, 10), None),
    ("XN06BXC012A001010001024", "drug", (1, 5), (10, 30), (10, 15)),
)
DIAGNOSES = {"hypertension": "I10.X00", "diabetes": "E11.900"}
ACUTE = ("J06.900", "J20.900", "K29.700", "M54.500", "R51.X00")


def _money(value: float | Decimal) -> Decimal:
    return fen(Decimal(str(value)))


class Generator:
    def __init__(self, region: str, seed: int, year: int, tiers: tuple[str, ...] = ()) -> None:
        self.region = region
        self.tiers = tiers  # the policy's contribution tiers (residents draw one); none: no tier
        self.random = random.Random(f"{region}:{seed}")
        self.year = year
        self.seed = seed
        self.serial = 0

    def date(self, month: int | None = None) -> dt.date:
        month = month or self.random.randint(1, 12)
        return dt.date(self.year, month, self.random.randint(1, 28))

    def person(self, number: int) -> dict[str, Any]:
        rand = self.random
        scheme = "employee" if rand.random() < 0.65 else "resident"
        age = rand.randint(3, 88)
        person: dict[str, Any] = {
            "id": f"{self.region[:2].upper()}{self.seed}-{number:06d}",
            "scheme": scheme,
            "birth_date": dt.date(
                self.year - age, rand.randint(1, 12), rand.randint(1, 28)
            ).isoformat(),
            "sex": rand.choice(SEXES),
            "groups": [rand.choice(GROUPS)]
            if scheme == "resident" and rand.random() < 0.08
            else [],
            "certifications": [],
        }
        if scheme == "employee":
            person["status"] = "retired" if age >= 60 and rand.random() < 0.8 else "working"
        elif self.tiers:  # drawn only for a tiered policy: the others' claims stay as they were
            person["tier"] = rand.choice(self.tiers)
        for condition, chance in (("hypertension", 0.25), ("diabetes", 0.15)):
            if age >= 35 and rand.random() < chance:
                programme = (
                    "two_disease"
                    if scheme == "resident" and rand.random() < 0.5
                    else "special_outpatient"
                )
                since = dt.date(
                    self.year - rand.randint(0, 5), rand.randint(1, 12), rand.randint(1, 28)
                )
                person["certifications"].append(
                    {
                        "condition": condition,
                        "programme": programme,
                        "since": since.isoformat(),
                        "doctor_title": rand.choice(
                            ("attending", "associate_chief", "associate_chief", "chief")
                        ),
                    }
                )
        return person

    def items(self, choices: tuple[Any, ...], count: int, start: int = 1) -> list[dict[str, Any]]:
        out = []
        for offset, (code, kind, prices, quantities, supply) in enumerate(
            self.random.sample(choices, count)
        ):
            quantity = Decimal(self.random.randint(*quantities))
            price = _money(self.random.uniform(*prices))
            item = {
                "line": start + offset,
                "code": code,
                "kind": kind,
                "quantity": str(quantity),
                "unit_price": str(price),
                "amount": str(_money(quantity * price)),
            }
            if supply:
                item["days_supply"] = self.random.randint(*supply)
            out.append(item)
        return out

    def claim(
        self,
        person: dict[str, Any],
        visit: str,
        date: dt.date,
        items: list[dict[str, Any]],
        diagnoses: list[str],
    ) -> dict[str, Any]:
        self.serial += 1
        rand = self.random
        level = rand.choice((1, 2, 2, 3, 3)) if visit != "two_disease" else rand.choice((1, 2))
        visit_data: dict[str, Any] = {
            "type": visit,
            "date": date.isoformat(),
            "hospital": {
                "id": f"H{rand.randint(1, 40):04d}",
                "level": level,
                "kind": rand.choice(("general", *HOSPITAL_KINDS)),  # general twice as likely,
            },
            "doctor": {"id": f"D{rand.randint(1, 400):04d}", "title": rand.choice(TITLES)},
            "diagnoses": diagnoses,
        }
        if visit == "inpatient":
            visit_data["admitted"] = (date - dt.timedelta(days=rand.randint(2, 12))).isoformat()
        return {
            "id": f"{person['id']}-{self.serial:05d}",
            "region": self.region,
            "person": person,
            "visit": visit_data,
            "items": items,
        }

    def year_of(self, person: dict[str, Any]) -> Iterator[dict[str, Any]]:
        rand = self.random
        conditions = sorted({c["condition"] for c in person["certifications"]})
        for _ in range(rand.randint(0, 7)):
            items = self.items(SERVICES[:1], 1) + self.items(
                OUTPATIENT_DRUGS, rand.randint(1, 3), 2
            )
            if rand.random() < 0.05:
                items[-1]["days_supply"] = 10  # too many days for an outpatient prescription
            yield self.claim(person, "outpatient", self.date(), items, [rand.choice(ACUTE)])
        for cert in person["certifications"]:
            visit = cert["programme"]
            # a refill when the last supply runs out, now and then a few days early
            day = dt.date(self.year, 1, 1) + dt.timedelta(days=rand.randint(0, 30))
            while day.year == self.year:
                drugs = self.items(CHRONIC_DRUGS[cert["condition"]], rand.randint(1, 2))
                if visit == "special_outpatient" and rand.random() < 0.3:
                    drugs += self.items(SERVICES[1:], 1, len(drugs) + 1)
                yield self.claim(person, visit, day, drugs, [DIAGNOSES[c] for c in conditions])
                supply = min(d.get("days_supply", 30) for d in drugs if d["kind"] == "drug")
                day += dt.timedelta(days=supply + rand.choice((-6, -2, 0, 0, 1, 3, 10)))
        if rand.random() < 0.12:
            items = self.items(INPATIENT, 3)
            nights = rand.randint(3, 15)
            items.append(
                {
                    "line": 4,
                    "code": "001103000010000",
                    "kind": "bed",
                    "quantity": str(nights),
                    "unit_price": "70.00",
                    "amount": str(_money(nights * Decimal(70))),
                }
            )
            if rand.random() < 0.3:
                items.append(
                    {
                        "line": 5,
                        "code": "C0211023001000",
                        "kind": "material",
                        "quantity": "1",
                        "unit_price": "750.00",
                        "amount": "750.00",
                    }
                )
            diagnoses = [rand.choice(("I21.900", "J18.900", "K35.800", "C34.100"))] + [
                DIAGNOSES[c] for c in conditions
            ]
            yield self.claim(person, "inpatient", self.date(), items, diagnoses)
        if rand.random() < 0.03:
            yield from self.major_illness(person)

    def major_illness(self, person: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """A costly year: repeated admissions whose self-burden reaches the 大病 bands."""
        rand = self.random
        for month in sorted(rand.sample(range(1, 13), rand.randint(2, 5))):
            nights = rand.randint(10, 30)
            items = [
                {
                    "line": 1,
                    "code": "001103000010000",
                    "kind": "bed",
                    "quantity": str(nights),
                    "unit_price": "60.00",
                    "amount": str(_money(nights * Decimal(60))),
                },
                {
                    "line": 2,
                    "code": "002102000010000",
                    "kind": "service",
                    "quantity": "2",
                    "unit_price": "300.00",
                    "amount": "600.00",
                },
            ]
            items += self.items(INPATIENT[1:2], 1, 3)
            doses = rand.randint(150, 900)
            price = _money(rand.uniform(120, 200))
            items.append(
                {
                    "line": 4,
                    "code": "XJ01XAT055A001010001015",
                    "kind": "drug",
                    "quantity": str(doses),
                    "unit_price": str(price),
                    "amount": str(_money(doses * price)),
                }
            )
            yield self.claim(person, "inpatient", self.date(month), items, ["C34.100"])


YEARS = range(1900, 2101)  # persons are born up to 75 years before; every date must exist


def generate(
    region: str, persons: int, seed: int = 1, year: int = 2024, tiers: tuple[str, ...] = ()
) -> Iterator[dict[str, Any]]:
    """Claims of `persons` people for one calendar year, person by person, dates unsorted;
    `tiers`: the region's contribution tiers (its policy's `tiers`), one drawn per resident."""
    check_year(year)
    generator = Generator(region, seed, year, tiers)
    for number in range(1, persons + 1):
        person = generator.person(number)
        yield from generator.year_of(person)


def check_year(year: int) -> None:
    if year not in YEARS:
        raise ValueError(
            f"--year {year}: claims are generated for the years {YEARS.start}–{YEARS.stop - 1}"
        )
