"""A hand-written settlement of Tianjin's 2023 rule set for outpatient and inpatient claims.

The yardstick of the benchmarks: what a programmer would write for these rules directly,
without the engine, for speed — the figures hard-coded, the catalogue a dict of tuples. It
must produce exactly the engine's result (benchmarks/test_baseline.py checks that on every
benchmark claim), so the comparison measures the same work. Only text is borrowed: the
finding messages (policyengine.semantics.findings) and the provisional notes' wording, read once at
import from the bundled rule files' check result.
"""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from policyengine.semantics import findings as fm

ROOT = Path(__file__).resolve().parent.parent
D = Decimal
Z = D("0.00")
FEN = D("0.01")
RANK = {"resident": 0, "attending": 1, "associate_chief": 2, "chief": 3}
REGION = "tianjin"


def _catalogue() -> dict[str, tuple[Any, ...]]:
    out = {}
    with (ROOT / "policies" / "national" / "catalogue.csv").open(encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):

            def num(key: str, row: dict[str, str] = row) -> int | None:
                return int(row[key]) if row[key] else None

            out[row["code"]] = (
                row["kind"],
                row["class"],
                D(row["selfpay_prop"]) if row["selfpay_prop"] else None,
                D(row["price_cap"]) if row["price_cap"] else None,
                row["negotiated"] == "1",
                row["local_region"],
                tuple(p for p in row["indications"].split(";") if p),
                num("min_level"),
                row["sex"],
                num("min_age"),
                num("max_age"),
                row["min_title"],
                tuple(p for p in row["contra_dx"].split(";") if p),
                row["contra_sex"],
                num("contra_min_age"),
                num("contra_max_age"),
                num("daily_frequency") or 1,
                f"national/catalogue.csv:{number}",
            )
    return out


CAT = _catalogue()
NOTES: dict[str, list[str]] = {}


def _notes() -> None:
    from policyengine.check import check

    policy = check(ROOT / "policies" / "tianjin").policy
    assert policy is not None
    for note in policy.notes:
        NOTES.setdefault(note.location, []).append(str(note))


_notes()


def notes(*locations: str) -> list[str]:
    return [n for loc in locations for n in NOTES.get(loc, ())]


AUDIT_SOURCE = {
    "doc": "津政办发〔2018〕4号",
    "clause": "三(二)5",
    "quote": "对重复开药、超量开药、超禁忌症使用、重复开具诊疗项目等发生的医疗费用预警拦截",
    "provenance": "cited",
}
NATIONAL_SOURCE = {"doc": "国家医疗保障局令第1号", "provenance": "secondary"}
LOCAL_SOURCE = {
    "doc": "天津市医疗保障发展“十四五”规划",
    "clause": "三(四)",
    "quote": "2022年底前,我市现行医保药品目录内非国家医保药品目录品种全部调出",
    "provenance": "cited",
}
DESIGNATED_SOURCE = {
    "doc": "津政办发〔2018〕4号",
    "clause": "三(一)3",
    "quote": "实行“定医院、定医师、定病种”专项管理",
    "provenance": "cited",
}

OUT_DEDUCTIBLE = {"working": D("800.00"), "retired": D("700.00"), None: D("500.00")}
OUT_RATIO = {
    "working": (D("0.65"), D("0.60"), D("0.55")),
    "retired": (D("0.70"), D("0.65"), D("0.60")),
    None: (D("0.55"), D("0.50"), D("0.45")),
}
IN_FIRST = {
    "employee": (D("500.00"), D("800.00"), D("1300.00")),
    "resident": (D("300.00"), D("500.00"), D("800.00")),
}
IN_LATER = {"employee": (D("250.00"), D("400.00"), D("650.00")), "resident": (Z, Z, Z)}
IN_RATIO = {
    "working": (D("0.90"), D("0.87"), D("0.85")),
    "retired": (D("0.93"), D("0.90"), D("0.88")),
    None: (D("0.80"), D("0.75"), D("0.70")),
}
HARDSHIP_RATIO = frozenset({"low_income", "low_income_edge"})
HARDSHIP_BANDS = frozenset(
    {"low_income", "extremely_poor", "severely_disabled", "poverty_registered"}
)
OUT_NOTES = {
    "working": ("tianjin/benefits.policy:8", "tianjin/benefits.policy:43"),
    "retired": ("tianjin/benefits.policy:10", "tianjin/benefits.policy:45"),
    None: ("tianjin/benefits.policy:12", "tianjin/benefits.policy:47"),
}


def fen(x: Decimal) -> Decimal:
    return x.quantize(FEN, ROUND_HALF_UP)


def f_resident(s: Decimal) -> Decimal:
    s = min(s, D(300000))
    total = Z
    if s > 20000:
        total += (min(s, D(200000)) - 20000) * D("0.60")
    if s > 200000:
        total += (s - 200000) * D("0.70")
    return total


def f_hardship(s: Decimal) -> Decimal:
    total = Z
    if s > 10000:
        total += (min(s, D(200000)) - 10000) * D("0.65")
    if s > 200000:
        total += (s - 200000) * D("0.75")
    return total


def f_employee(s: Decimal) -> Decimal:
    s = min(s, D(400000))
    return (s - 30000) * D("0.60") if s > 30000 else Z


def age_on(birth: Any, day: Any) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def finding(
    number: int,
    kind: str,
    action: str,
    line: int,
    rule: str,
    title: str,
    reasons: list[Any],
    source: dict[str, str],
) -> dict[str, Any]:
    zh, en = fm.message(kind, title, reasons)
    return {
        "id": f"F{number}",
        "kind": kind,
        "action": action,
        "line": line,
        "rule": rule,
        "message": zh,
        "message_en": en,
        "source": dict(source),
    }


def settle(c: Any, before: bool = False) -> dict[str, Any]:  # noqa: PLR0915 - one function on purpose
    person, visit, history = c.person, c.visit, c.history
    scheme, vtype, vdate, level = person.scheme, visit.type, visit.date, visit.hospital.level
    status = person.status if scheme == "employee" else None
    title, sex = visit.doctor.title, person.sex
    age = age_on(person.birth_date, vdate)
    udiag = [d.upper() for d in visit.diagnoses]
    audit = "warn" if before else "reject"
    found: list[dict[str, Any]] = []
    used_notes: set[str] = set()
    firsts: dict[str, tuple[int, str]] = {}
    svc: dict[str, int] = {}
    for rec in history.services:
        if rec.date == vdate:
            svc[rec.code] = svc.get(rec.code, 0) + 1
    rows = []
    covered = Z
    for it in sorted(c.items, key=lambda i: i.line):
        code, ln = it.code, it.line
        e = CAT.get(code)
        inc = e is not None and e[5] in ("", REGION)
        kind = e[0] if e is not None else it.kind
        reject = exclude = False
        mine = []
        if not inc or e[1] == "C":
            reasons = (
                [fm.outside_catalogue(REGION, e[5] if e else "")] if not inc else [fm.class_c()]
            )
            mine.append(
                finding(
                    0,
                    "not_covered",
                    "exclude",
                    ln,
                    "national/national.policy:39",
                    "目录外及丙类项目",
                    reasons,
                    NATIONAL_SOURCE,
                )
            )
        if inc:
            reasons = []
            if e[6] and not any(u.startswith(e[6]) for u in udiag):
                reasons.append(fm.indication(e[6]))
            if e[7] is not None and level < e[7]:
                reasons.append(fm.level_below(e[7], level))
            if e[8] and sex != e[8]:
                reasons.append(fm.sex_only(e[8]))
            if (e[9] is not None and age < e[9]) or (e[10] is not None and age > e[10]):
                reasons.append(fm.age_outside(e[9], e[10], age))
            if e[11] and RANK[title] < RANK[e[11]]:
                reasons.append(fm.title_below(e[11], title))
            if reasons:
                mine.append(
                    finding(
                        0,
                        "restricted_use",
                        "exclude",
                        ln,
                        "national/national.policy:46",
                        "限定支付范围",
                        reasons,
                        NATIONAL_SOURCE,
                    )
                )
        if kind == "drug":
            reasons = []
            first = firsts.get(code[:10])
            if first is not None:
                reasons = [fm.same_drug_in_claim(first[0], first[1] == code)]
            else:
                for rec in history.dispensed:
                    if rec.date <= vdate and (rec.code == code or rec.code[:10] == code[:10]):
                        left = (rec.date - vdate).days + rec.days_supply
                        if left > 3:
                            reasons = [fm.supply_left(rec.code, rec.date.isoformat(), left, 3)]
                            break
            if reasons:
                mine.append(
                    finding(
                        0,
                        "duplicate_dispensing",
                        audit,
                        ln,
                        "tianjin/audit.policy:4",
                        "重复开药",
                        reasons,
                        AUDIT_SOURCE,
                    )
                )
                used_notes.update(notes("tianjin/audit.policy:7"))
            if vtype == "outpatient" and it.days_supply is not None and it.days_supply > 7:
                mine.append(
                    finding(
                        0,
                        "excess_supply",
                        audit,
                        ln,
                        "tianjin/audit.policy:11",
                        "超量开药",
                        [fm.too_many_days(it.days_supply, 7)],
                        AUDIT_SOURCE,
                    )
                )
        if inc:
            reasons = []
            if e[12] and any(u.startswith(e[12]) for u in udiag):
                reasons.append(fm.contra_diagnosis(e[12]))
            if e[13] and sex == e[13]:
                reasons.append(fm.contra_sex(e[13]))
            if (
                (e[14] is not None or e[15] is not None)
                and (e[14] or 0) <= age
                and (e[15] is None or age <= e[15])
            ):
                reasons.append(fm.contra_age(e[14], e[15], age))
            if reasons:
                mine.append(
                    finding(
                        0,
                        "contraindication",
                        audit,
                        ln,
                        "tianjin/audit.policy:22",
                        "超禁忌症使用",
                        reasons,
                        AUDIT_SOURCE,
                    )
                )
        if kind == "service":
            frequency = e[16] if e is not None else 1
            seen = svc.get(code, 0)
            if seen >= frequency:
                mine.append(
                    finding(
                        0,
                        "duplicate_service",
                        audit,
                        ln,
                        "tianjin/audit.policy:28",
                        "重复开具诊疗项目",
                        [fm.service_repeated(seen + 1, frequency)],
                        AUDIT_SOURCE,
                    )
                )
            svc[code] = seen + 1
        if e is not None and e[5] == REGION:
            mine.append(
                finding(
                    0,
                    "not_covered",
                    "exclude",
                    ln,
                    "tianjin/catalogue.policy:9",
                    "地方增补品种调出",
                    [fm.local_item()],
                    LOCAL_SOURCE,
                )
            )
        if inc and e[4]:
            reasons = []
            if level < 3:
                reasons.append(fm.level_below(3, level))
            if RANK[title] < 2:
                reasons.append(fm.title_below("associate_chief", title))
            if e[6] and not any(u.startswith(e[6]) for u in udiag):
                reasons.append(fm.not_negotiated_indication(e[6]))
            if reasons:
                mine.append(
                    finding(
                        0,
                        "designated_use",
                        "reject",
                        ln,
                        "tianjin/catalogue.policy:16",
                        "国家谈判药品定医院、定医师、定病种",
                        reasons,
                        DESIGNATED_SOURCE,
                    )
                )
                used_notes.update(
                    notes("tianjin/catalogue.policy:20", "tianjin/catalogue.policy:22")
                )
        if kind == "drug":
            firsts.setdefault(code[:10], (ln, code))
        for f in mine:
            found.append(f)
            f["id"] = f"F{len(found)}"
            reject = reject or f["action"] == "reject"
            exclude = exclude or f["action"] == "exclude"
        amount = it.amount
        cls = e[1] if e is not None else None
        ids = [f["id"] for f in mine]
        if reject:
            rows.append([ln, amount, cls, True, amount, Z, Z, Z, Z, ids])
        elif exclude:
            rows.append([ln, amount, cls, False, Z, amount, Z, Z, Z, ids])
        else:
            over = Z
            if e is not None and e[3] is not None:
                over = max(Z, fen(amount - e[3] * it.quantity))
            pre = fen((amount - over) * e[2]) if cls == "B" else Z
            cov = amount - over - pre
            covered += cov
            rows.append([ln, amount, cls, False, Z, Z, over, pre, cov, ids])
    deductible = fund = critical = Z
    if covered:
        if vtype == "outpatient":
            amount = OUT_DEDUCTIBLE[status]
            left = max(Z, amount - history.deductible_met.get("outpatient", Z))
            deductible = min(covered, left)
            ratio = OUT_RATIO[status][level - 1]
            computed = fen((covered - deductible) * ratio)
            cap = D("7500.00") if scheme == "employee" else D("4000.00")
            fund = min(computed, max(Z, cap - history.paid.get("outpatient", Z)))
            used_notes.update(
                notes(
                    *OUT_NOTES[status],
                    # the cap row in force and the one its provisional dates replaced
                    *(
                        ("tianjin/benefits.policy:82", "tianjin/benefits.policy:85")
                        if scheme == "employee"
                        else ("tianjin/benefits.policy:88", "tianjin/benefits.policy:91")
                    ),
                )
            )
        else:  # inpatient
            later = history.admissions > 0
            deductible = min(covered, (IN_LATER if later else IN_FIRST)[scheme][level - 1])
            ratio = IN_RATIO[status][level - 1]
            hardship = scheme == "resident" and not HARDSHIP_RATIO.isdisjoint(person.groups)
            if hardship:
                ratio += D("0.05")
            computed = fen((covered - deductible) * ratio)
            cap = D("450000.00") if scheme == "employee" else D("200000.00")
            paid = history.paid.get("inpatient", Z) + history.paid.get("special_outpatient", Z)
            fund = min(computed, max(Z, cap - paid))
            used_notes.update(_inpatient_notes(scheme, status, later))
            s, before_s = covered - fund, history.self_burden.inpatient
            if scheme == "employee":
                band = f_employee
                used_notes.update(
                    notes(*(f"tianjin/critical_illness.policy:{n}" for n in (48, 49, 51, 53)))
                )
            elif not HARDSHIP_BANDS.isdisjoint(person.groups):
                band = f_hardship
                used_notes.update(
                    notes(*(f"tianjin/critical_illness.policy:{n}" for n in (8, 34, 36, 39, 41)))
                )
            else:
                band = f_resident
                used_notes.update(
                    notes(*(f"tianjin/critical_illness.policy:{n}" for n in (22, 23, 26, 28)))
                )
            critical = fen(band(before_s + s) - band(before_s))
    return _result(c, rows, found, deductible, fund, critical, used_notes)


def _inpatient_notes(scheme: str, status: str | None, later: bool) -> list[str]:
    if scheme == "employee":
        deductible = "tianjin/benefits.policy:31" if later else "tianjin/benefits.policy:29"
        ratio = (
            "tianjin/benefits.policy:59" if status == "working" else "tianjin/benefits.policy:61"
        )
        caps = ("tianjin/benefits.policy:99", "tianjin/benefits.policy:102")  # both dated
        return notes(deductible, "tianjin/benefits.policy:24", ratio, *caps)
    deductible = "tianjin/benefits.policy:35" if later else "tianjin/benefits.policy:33"
    return notes(
        deductible,
        "tianjin/benefits.policy:51",
        "tianjin/benefits.policy:65",
        "tianjin/benefits.policy:105",
    )


def _result(
    c: Any,
    rows: list[list[Any]],
    found: list[dict[str, Any]],
    deductible: Decimal,
    fund: Decimal,
    critical: Decimal,
    used_notes: set[str],
) -> dict[str, Any]:
    covered = [r[8] for r in rows]
    total = sum(covered, Z)
    shares = []
    room = list(covered)
    order: list[int] = []  # the allocation order, built only when a remainder needs it
    for payment in (fund, critical):
        if not (total and payment):
            shares.append([Z] * len(rows))
            continue
        part = [min(fen(payment * x / total), room[i]) for i, x in enumerate(covered)]
        rest = payment - sum(part, Z)
        if rest and not order:
            order = sorted(range(len(rows)), key=lambda i: covered[i], reverse=True)
        for i in order if rest else ():
            if not rest:
                break
            step = min(room[i] - part[i], rest) if rest > 0 else -min(part[i], -rest)
            part[i] += step
            rest -= step
        room = [r - p for r, p in zip(room, part, strict=True)]
        shares.append(part)
    lines = []
    sb = sd = se = so = sp = sc = Z
    denied_count = 0
    for (ln, billed, cls, flag, denied, excluded, over, pre, cov, ids), f, ci in zip(
        rows, shares[0], shares[1], strict=True
    ):
        denied_count += flag
        sb += billed
        sd += denied
        se += excluded
        so += over
        sp += pre
        sc += cov
        lines.append(
            {
                "line": ln,
                "billed": str(billed),
                "class": cls,
                "denied": str(denied),
                "excluded": str(excluded),
                "over_limit": str(over),
                "pre_self_pay": str(pre),
                "covered": str(cov),
                "findings": ids,
                "payers": {"fund": str(f), "critical_illness": str(ci)},
                "patient": str(billed - denied - f - ci),
            }
        )
    sums = (sb, sd, se, so, sp, sc)
    decision = "pay"
    if denied_count == len(rows):
        decision = "reject"
    elif denied_count:
        decision = "partial"
    elif any(f["action"] == "review" for f in found):
        decision = "review"
    visit_date = c.visit.date.isoformat()
    return {
        "claim_id": c.id,
        "policy": {"region": REGION, "version": "2023-01-01", "as_of": visit_date},
        "decision": decision,
        "totals": {
            "billed": str(sums[0]),
            "denied": str(sums[1]),
            "excluded": str(sums[2]),
            "over_limit": str(sums[3]),
            "pre_self_pay": str(sums[4]),
            "covered": str(sums[5]),
            "deductible": str(deductible),
            "payers": {"fund": str(fund), "critical_illness": str(critical)},
            "patient": str(sums[0] - sums[1] - fund - critical),
        },
        "lines": lines,
        "findings": found,
        "provisional": sorted(used_notes, key=_note_order),
    }


_ORDER: dict[str, int] = {}


def _note_order(note: str) -> int:
    if not _ORDER:
        from policyengine.check import check

        policy = check(ROOT / "policies" / "tianjin").policy
        assert policy is not None
        _ORDER.update({str(n): i for i, n in enumerate(policy.notes)})
    return _ORDER[note]
