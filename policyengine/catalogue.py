"""Import the medical-insurance catalogue (医保目录) from CSV.

The columns are those of ../shared/data/catalogue-sample.csv (documented in
docs/language.md). Every malformed cell is reported as `file:line:col` with the column
name; nothing is guessed, a row with a bad cell is left out of the catalogue.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from policyengine.diagnostics import Diagnostics
from policyengine.semantics.money import to_places
from policyengine.semantics.vocabulary import CLASSES, ITEM_KINDS, SCHEMES, SEXES, TITLES
from policyengine.span import Span

COLUMNS = (
    "code",
    "name",
    "generic",
    "kind",
    "class",
    "selfpay_prop",
    "price_cap",
    "selected",
    "negotiated",
    "two_disease",
    "local_region",
    "indications",
    "min_level",
    "sex",
    "min_age",
    "max_age",
    "min_title",
    "contra_dx",
    "contra_sex",
    "contra_min_age",
    "contra_max_age",
    "daily_frequency",
)
# Columns a catalogue may leave out (issue 16: added after the first catalogues were
# written); an absent column is empty in every row. `category` is an item class a ratio table
# may pay at its own ratio (`when category implant`): a word such as implant, imported or half.
OPTIONAL_COLUMNS = ("max_quantity", "departments", "schemes", "category")
CATEGORY_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_ROWS = 200_000
PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
FIGURE_PLACES = 4  # as a claim's unit price
QUANTITY_PLACES = 3  # as a claim's quantity
MAX_QUANTITY = Decimal("9999999999.999")  # below 10¹⁰, as a claim's quantity
# A department word (科室) as a claim's `visit.department` may carry it: no spaces, no `;`.
DEPARTMENT = re.compile(r"[^\s;]{1,128}")
MAX_PRICE = Decimal("9999999999.9999")  # below 10¹⁰ 元, as a claim's money


def _shown(value: str) -> str:
    return value if len(value) <= 40 else f"{value[:20]}…({len(value)} characters)"


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    code: str
    name: str
    generic: str
    kind: str
    cls: str
    selfpay_prop: Decimal | None
    price_cap: Decimal | None
    selected: bool
    negotiated: bool
    two_disease: bool
    local_region: str
    indications: tuple[str, ...]
    min_level: int | None
    sex: str
    min_age: int | None
    max_age: int | None
    min_title: str
    contra_dx: tuple[str, ...]
    contra_sex: str
    contra_min_age: int | None
    contra_max_age: int | None
    daily_frequency: int | None
    location: str
    # optional columns (OPTIONAL_COLUMNS): quantity_limit, department_restricted, scheme_restricted
    max_quantity: Decimal | None = None
    departments: frozenset[str] = frozenset()
    schemes: frozenset[str] = frozenset()
    category: str = ""  # the optional column: "" for none

    def flag(self, name: str) -> bool:
        return bool(getattr(self, name))


class _Row:
    """Reads one CSV row's cells, reporting bad ones with their column position."""

    def __init__(
        self,
        display: str,
        line_no: int,
        line: str,
        cells: dict[str, str],
        diags: Diagnostics,
        header: list[str],
    ):
        self.header = header  # the columns in the file's own order
        self.display = display
        self.line_no = line_no
        self.line = line
        self.cells = cells
        self.diags = diags
        self.ok = True

    def span(self, column: str) -> Span:
        index = self.header.index(column) if column in self.header else 0
        col = 1
        for _ in range(index):
            next_comma = self.line.find(",", col - 1)
            if next_comma < 0:
                break
            col = next_comma + 2
        width = max(len(self.cells.get(column, "")), 1)
        return Span(self.display, self.line_no, col, self.line_no, col + width)

    def fail(self, column: str, message: str) -> None:
        self.ok = False
        self.diags.error("I001", f"catalogue column `{column}`: {message}", self.span(column))

    def text(self, column: str) -> str:
        return self.cells.get(column, "").strip()

    def choice(self, column: str, choices: tuple[str, ...], *, optional: bool = False) -> str:
        value = self.text(column)
        if (value or not optional) and value not in choices:
            self.fail(column, f"`{value}` is not one of {', '.join(choices)}")
        return value

    def decimal(self, column: str, *, low: Decimal, high: Decimal) -> Decimal | None:
        """A figure the evaluators compute with: plain decimal text (no sign, exponent, NaN
        or infinity), within [low, high], at most FIGURE_PLACES decimal places — so that
        arithmetic on it stays exact within the money context (`1e9999` passed as finite,
        then failed every claim that used the item)."""
        value = self.text(column)
        if not value:
            return None
        if not PLAIN_DECIMAL.fullmatch(value):
            self.fail(
                column,
                f"`{_shown(value)}` is not a plain decimal number such as 12.34 (no sign, "
                "exponent, NaN or infinity)",
            )
            return None
        number = Decimal(value)
        if not low <= number <= high:
            self.fail(column, f"`{_shown(value)}` must be between {low} and {high}")
            return None
        if number != to_places(number, FIGURE_PLACES):
            self.fail(column, f"`{_shown(value)}` has more than {FIGURE_PLACES} decimal places")
            return None
        return number

    def integer(self, column: str, *, low: int, high: int) -> int | None:
        value = self.text(column)
        if not value:
            return None
        if not value.isdigit() or not low <= int(value) <= high:
            self.fail(column, f"`{value}` must be a whole number from {low} to {high}")
            return None
        return int(value)

    def flag(self, column: str) -> bool:
        value = self.text(column)
        if value not in ("", "0", "1"):
            self.fail(column, f"`{value}` must be 1, 0 or empty")
        return value == "1"

    def prefixes(self, column: str) -> tuple[str, ...]:
        return tuple(p.strip().upper() for p in self.text(column).split(";") if p.strip())

    def words(self, column: str, choices: tuple[str, ...] | None = None) -> frozenset[str]:
        """Words separated by `;`: each one of `choices`, or else a department word."""
        value = self.text(column)
        if not value:
            return frozenset()
        words = [w.strip() for w in value.split(";")]
        for word in words:
            if choices is not None and word not in choices:
                self.fail(column, f"`{_shown(word)}` is not one of {', '.join(choices)}")
            elif choices is None and not DEPARTMENT.fullmatch(word):
                self.fail(
                    column,
                    f"`{_shown(word)}` is not a department word (1–128 characters, no spaces; "
                    "words separated by `;`)",
                )
        return frozenset(words)

    def quantity(self, column: str) -> Decimal | None:
        """A quantity as a claim's: above 0, at most QUANTITY_PLACES decimal places."""
        number = self.decimal(column, low=Decimal(0), high=MAX_QUANTITY)
        if number is None:
            return None
        if number == 0 or number != to_places(number, QUANTITY_PLACES):
            self.fail(
                column,
                f"`{self.text(column)}` must be above 0 with at most {QUANTITY_PLACES} "
                "decimal places",
            )
            return None
        return number


def load_catalogue(text: str, display: str, diags: Diagnostics) -> dict[str, CatalogueItem]:
    lines = text.split("\n")  # as csv counts them (splitlines() also splits at \x0c, \u2028, …)
    if not text:
        diags.error("I001", "catalogue file is empty", Span(display, 1, 1, 1, 2))
        return {}
    try:
        header = [h.strip() for h in next(csv.reader([lines[0]]), [])]
    except csv.Error as error:  # a cell beyond csv.field_size_limit() (131,072 characters)
        diags.error("I001", f"catalogue header: {error}", Span(display, 1, 1, 1, 2))
        return {}
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        diags.error(
            "I001",
            f"catalogue header lacks column(s): {', '.join(missing)}",
            Span(display, 1, 1, 1, len(lines[0]) + 1),
        )
        return {}
    items: dict[str, CatalogueItem] = {}
    first_line: dict[str, int] = {}
    reader = csv.DictReader(io.StringIO(text))
    for row_index, cells in enumerate(_rows(reader, display, len(lines), diags)):
        line_no = reader.line_num
        if row_index >= MAX_ROWS:
            diags.error(
                "I001",
                f"catalogue has more than {MAX_ROWS:,} rows",
                Span(display, line_no, 1, line_no, 2),
            )
            break
        raw_line = lines[line_no - 1] if line_no - 1 < len(lines) else ""
        cells_by_column = {k: v or "" for k, v in cells.items() if k}
        row = _Row(display, line_no, raw_line, cells_by_column, diags, header)
        item = _item(row, display)
        if item is None:
            continue
        if item.code in items:
            row.fail(
                "code", f"`{item.code}` is listed twice (first at line {first_line[item.code]})"
            )
            continue
        items[item.code] = item
        first_line[item.code] = line_no
    return items


def _rows(
    reader: csv.DictReader[str], display: str, last_line: int, diags: Diagnostics
) -> Iterator[dict[str, str | None]]:
    """The reader's rows, up to the first the csv module refuses (a cell longer than
    csv.field_size_limit(), 131,072 characters): that one is reported and ends the file."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # line_num counts the lines of the rows read before the refused one
            line_no = min(reader.line_num + 1, last_line)
            diags.error("I001", f"catalogue row: {error}", Span(display, line_no, 1, line_no, 2))
            return
        yield row


def _item(row: _Row, display: str) -> CatalogueItem | None:
    code = row.text("code")
    if not code:
        row.fail("code", "empty code")
    item = CatalogueItem(
        code=code,
        name=row.text("name"),
        generic=row.text("generic"),
        kind=row.choice("kind", ITEM_KINDS),
        cls=row.choice("class", CLASSES),
        selfpay_prop=row.decimal("selfpay_prop", low=Decimal(0), high=Decimal(1)),
        price_cap=row.decimal("price_cap", low=Decimal(0), high=MAX_PRICE),
        selected=row.flag("selected"),
        negotiated=row.flag("negotiated"),
        two_disease=row.flag("two_disease"),
        local_region=row.text("local_region"),
        indications=row.prefixes("indications"),
        min_level=row.integer("min_level", low=1, high=3),
        sex=row.choice("sex", SEXES, optional=True),
        min_age=row.integer("min_age", low=0, high=150),
        max_age=row.integer("max_age", low=0, high=150),
        min_title=row.choice("min_title", TITLES, optional=True),
        contra_dx=row.prefixes("contra_dx"),
        contra_sex=row.choice("contra_sex", SEXES, optional=True),
        contra_min_age=row.integer("contra_min_age", low=0, high=150),
        contra_max_age=row.integer("contra_max_age", low=0, high=150),
        daily_frequency=row.integer("daily_frequency", low=1, high=1000),
        location=f"{display}:{row.line_no}",
        max_quantity=row.quantity("max_quantity"),
        departments=row.words("departments"),
        schemes=row.words("schemes", SCHEMES),
        category=_category(row),
    )
    return item if row.ok else None


def _category(row: _Row) -> str:
    value = row.text("category")
    if value and not CATEGORY_WORD.fullmatch(value):
        row.fail("category", f"`{_shown(value)}` is not a word such as implant or half_paid")
    return value
