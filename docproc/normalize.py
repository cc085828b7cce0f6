"""Value normalisation: ISO dates, decimal money with ISO currency, ISO 8601 durations, numbers,
ids and enums. Parsing is delegated to dateparser/python-dateutil/price-parser/rapidfuzz; the
regexes here only *locate* candidate spans in a line of text.

Day-first vs month-first is a property of the document, not of one date: `infer_date_order`
reads it from the document's own unambiguous dates (25/12/2018 can only be day-first) and
falls back to a currency/locale hint.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Iterable, Literal

import dateparser
from dateutil import parser as du_parser
from price_parser import Price
from rapidfuzz import fuzz, process

DateOrder = Literal["DMY", "MDY"]

MIN_YEAR, MAX_YEAR = 1900, 2100

# Currency symbols and local abbreviations -> ISO 4217 (three-letter codes pass through).
CURRENCY_SYMBOLS = {
    "€": "EUR", "$": "USD", "US$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "RM": "MYR",
    "S$": "SGD", "A$": "AUD", "C$": "CAD", "HK$": "HKD", "CHF": "CHF", "Fr.": "CHF", "zł": "PLN",
    "kr": "SEK", "₽": "RUB", "руб": "RUB", "R$": "BRL", "₩": "KRW", "₺": "TRY", "₪": "ILS",
    "Kč": "CZK", "Ft": "HUF", "฿": "THB", "₱": "PHP", "₫": "VND", "Rp": "IDR",
}
ISO_CURRENCIES = {
    "EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "CNY", "INR", "MYR", "SGD", "SEK", "NOK",
    "DKK", "PLN", "CZK", "HUF", "RUB", "BRL", "MXN", "ZAR", "NZD", "HKD", "KRW", "TRY", "ILS",
    "AED", "SAR", "IDR", "THB", "PHP", "VND", "RMB",
}
# Currencies whose home locales write dates month-first.
_MONTH_FIRST_CURRENCIES = {"USD", "PHP"}

_MONTHS = (
    r"jan(?:uary|uar|vier)?|feb(?:ruary|ruar)?|f[ée]v(?:rier)?|m[äa]r(?:ch|z)?|mars|apr(?:il)?|avr(?:il)?|"
    r"ma[iy]|mai|june?|juni?|juin|july?|juli|juil(?:let)?|aug(?:ust)?|ao[uû]t|sep(?:t(?:ember)?)?|"
    r"sept(?:embre)?|o[ck]t(?:ober|obre)?|nov(?:ember|embre)?|de[cz](?:ember)?|d[ée]c(?:embre)?"
)
_NUMERIC_DATE = re.compile(
    r"(?<![\d.])(?:(?P<y0>(?:19|20)\d{2})\s?[-/.]\s?(?P<m0>\d{1,2})\s?[-/.]\s?(?P<d0>\d{1,2})"
    r"|(?P<a>\d{1,2})\s?(?P<sep>[-/.])\s?(?P<b>\d{1,2})\s?(?P=sep)\s?(?P<y>\d{4}(?!:\d)|\d{2}))"
    # Receipts print the time glued to the date: "14/03/20185:57:07PM", "26/02/1808:28".
    r"(?=\d{1,2}:\d{2}|\D|$)"
)
_NAMED_DATE = re.compile(
    rf"(?<![\w])(?:\d{{1,2}}(?:st|nd|rd|th|er)?\.?[\s/-]*(?:day\s+of\s+)?(?:{_MONTHS})\.?,?[\s/-]*(?:\d{{4}}|\d{{2}})"
    rf"|(?:{_MONTHS})\.?\s*[-/]?\s*\d{{1,2}}(?:st|nd|rd|th)?,?\s*[-/]?\s*\d{{4}})(?![\w])",
    re.IGNORECASE,
)
_MONEY = re.compile(
    r"(?<![\w.,])(?P<neg>[-(])?\s?(?:(?P<cur>US\$|[A-Z]{1,2}\$|[$€£¥₹]|RM|[A-Z]{3})\s?)?"
    # A form's amount box rules dollars off from cents: OCR may read the rule as "|" ("501|.26").
    r"(?P<num>\d{1,3}(?:[,.'’]\d{3})+(?:(?:\s?\|\s?)?[.,]\d{1,2})?|\d{1,7}(?:(?:\s?\|\s?)?[.,]\d{1,2})?)"
    r"(?:\s?(?P<cur2>[€$£]|[A-Z]{3}(?![a-z])))?(?![\w%]|[.,]\d|\s?%)"
)
_CENTS_RULE = re.compile(r"\s?\|\s?")
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "a": 1, "an": 1,
}
_UNIT_CODES = {"year": "Y", "month": "M", "week": "W", "day": "D"}
_WORD_NUMBER = r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[- ]?)?(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_DURATION = re.compile(
    rf"(?<![\w])(?:(?P<word>{_WORD_NUMBER}|an?)\s*(?:\(\s*(?P<paren>\d+)\s*\)\s*)?|(?P<digits>\d+)\s*)"
    r"[- ]?\(?(?P<unit>year|month|week|day)s?\)?(?![a-z])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Span:
    """A value located in a text: character offsets, the raw text and its normalized form."""

    start: int
    end: int
    text: str
    normalized: object
    currency: str | None = None


# ---------------------------------------------------------------- dates


def infer_date_order(texts: Iterable[str], currency: str | None = None) -> DateOrder | None:
    """Day-first or month-first, from the unambiguous numeric dates in `texts`; else from the
    currency (USD: month-first, any other: day-first); None when nothing tells."""
    dmy = mdy = 0
    for text in texts:
        for m in _NUMERIC_DATE.finditer(text):
            if m.group("a") is None:
                continue
            a, b = int(m.group("a")), int(m.group("b"))
            if a > 12 and 1 <= b <= 12:
                dmy += 1
            elif b > 12 and 1 <= a <= 12:
                mdy += 1
    if dmy != mdy:
        return "DMY" if dmy > mdy else "MDY"
    if currency:
        return "MDY" if currency in _MONTH_FIRST_CURRENCIES else "DMY"
    return None


def _year(y: str) -> int:
    n = int(y)
    if len(y) == 2:  # two-digit years: pivot like dateutil (within 50 years of today)
        n += 2000 if n <= (date.today().year % 100) + 20 else 1900
    return n


def _valid(y: int, m: int, d: int) -> date | None:
    if not (MIN_YEAR <= y <= MAX_YEAR):
        return None
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _numeric_date(m: re.Match, order: DateOrder | None) -> date | None:
    if m.group("y0"):
        return _valid(int(m.group("y0")), int(m.group("m0")), int(m.group("d0")))
    a, b, y = int(m.group("a")), int(m.group("b")), _year(m.group("y"))
    if a > 12:
        return _valid(y, b, a)
    if b > 12:
        return _valid(y, a, b)
    if order == "DMY":
        return _valid(y, b, a)
    return _valid(y, a, b)  # month-first when nothing says otherwise (ambiguous either way)


def _named_date(text: str) -> date | None:
    cleaned = re.sub(r"(?<=\d)(st|nd|rd|th|er)\b", "", text, flags=re.IGNORECASE)
    cleaned = re.sub(r"\bday\s+of\b", "", cleaned, flags=re.IGNORECASE)
    try:
        parsed = du_parser.parse(cleaned, fuzzy=False, default=None)  # type: ignore[arg-type]
        found = parsed.date()
    except (ValueError, OverflowError, TypeError, AttributeError):
        got = dateparser.parse(
            cleaned, languages=["en", "de", "fr"], settings={"PREFER_DAY_OF_MONTH": "first", "STRICT_PARSING": True}
        )
        if got is None:
            return None
        found = got.date()
    return _valid(found.year, found.month, found.day)


def find_dates(text: str, order: DateOrder | None = None) -> list[Span]:
    """Every date in `text`, left to right, normalized to ISO 8601."""
    out: list[Span] = []
    taken: list[tuple[int, int]] = []
    for m in _NAMED_DATE.finditer(text):
        d = _named_date(m.group(0))
        if d:
            out.append(Span(m.start(), m.end(), m.group(0), d.isoformat()))
            taken.append((m.start(), m.end()))
    for m in _NUMERIC_DATE.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        d = _numeric_date(m, order)
        if d:
            out.append(Span(m.start(), m.end(), m.group(0), d.isoformat()))
    return sorted(out, key=lambda s: s.start)


def normalize_date(text: str, order: DateOrder | None = None) -> str | None:
    """The first date in `text` as ISO 8601, or None."""
    found = find_dates(text, order)
    return found[0].normalized if found else None  # type: ignore[return-value]


# ---------------------------------------------------------------- money


def currency_code(token: str | None) -> str | None:
    """ISO 4217 code for a symbol or code as printed ("€", "RM", "usd"), or None."""
    if not token:
        return None
    t = token.strip()
    if t.upper() in ISO_CURRENCIES:
        return "CNY" if t.upper() == "RMB" else t.upper()
    return CURRENCY_SYMBOLS.get(t) or CURRENCY_SYMBOLS.get(t.upper())


def detect_currency(text: str) -> str | None:
    """The currency a text names most often (ISO codes and symbols), or None."""
    counts: dict[str, int] = {}
    for m in re.finditer(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])|(US\$|[€$£¥₹])|(?<![A-Za-z])(RM)(?=\s?\d)", text):
        code = currency_code(m.group(0))
        if code:
            counts[code] = counts.get(code, 0) + 1
    return max(counts, key=lambda c: counts[c]) if counts else None


def format_decimal(amount: Decimal) -> str:
    """A plain decimal string with two places ("1928.06", "450.00")."""
    return f"{amount.quantize(Decimal('0.01')):f}"


@functools.lru_cache(maxsize=16384)  # readers parse the same figures many times a page
def parse_money(text: str) -> tuple[Decimal, str | None] | None:
    """Amount and ISO currency of a money text, both conventions ("1.234,56", "1,234.56")."""
    price = Price.fromstring(text)
    if price.amount is None:
        return None
    amount = price.amount
    if text.strip().startswith(("-", "(")) and amount > 0:
        amount = -amount
    return amount, currency_code(price.currency)


def find_amounts(text: str) -> list[Span]:
    """Every money-like number in `text` (with its currency when printed next to it)."""
    out: list[Span] = []
    for m in _MONEY.finditer(text):
        raw = m.group(0).strip()
        cur = m.group("cur") or m.group("cur2")
        code = currency_code(cur)
        if cur and code is None:
            # A word that is no currency ("ABC 12"): keep only the number.
            raw = m.group("num")
        parsed = parse_money(_CENTS_RULE.sub("", m.group("num")))
        if parsed is None:
            continue
        amount = parsed[0]
        if m.group("neg"):
            amount = -amount
        start = m.start("num") if code is None else m.start()
        out.append(Span(start, m.end() if code else m.end("num"), raw, format_decimal(amount), code))
    return out


def normalize_money(text: str) -> tuple[str, str | None] | None:
    """("1234.56", "EUR") for a money text, or None when it holds no amount."""
    found = find_amounts(text)
    if not found:
        return None
    # Prefer a span with a decimal part (a total) over bare integers (quantities).
    best = next((s for s in found if re.search(r"[.,]\d{1,2}$", s.text.rstrip("€$£ A-Z"))), found[-1])
    return str(best.normalized), best.currency or detect_currency(text)


# ---------------------------------------------------------------- durations, numbers, ids, enums


def _word_number(word: str) -> int | None:
    total = 0
    for part in re.split(r"[- ]", word.lower()):
        if part not in _NUMBER_WORDS:
            return None
        total += _NUMBER_WORDS[part]
    return total


def find_durations(text: str) -> list[Span]:
    """Every duration ("two (2) years", "18 months", "a period of one year") as ISO 8601."""
    out: list[Span] = []
    for m in _DURATION.finditer(text):
        if m.group("paren"):
            n = int(m.group("paren"))
        elif m.group("digits"):
            n = int(m.group("digits"))
        else:
            n = _word_number(m.group("word") or "")
        if not n or n > 999:
            continue
        out.append(Span(m.start(), m.end(), m.group(0), f"P{n}{_UNIT_CODES[m.group('unit').lower()]}"))
    return out


def normalize_duration(text: str) -> str | None:
    found = find_durations(text)
    return str(found[0].normalized) if found else None


def normalize_number(text: str) -> int | float | None:
    """An integer or decimal number in either separator convention."""
    m = re.search(r"-?\d[\d.,' ]*", text)
    if not m:
        return None
    parsed = parse_money(m.group(0).strip())
    if parsed is None:
        return None
    amount = parsed[0]
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def normalize_id(text: str) -> str:
    """An identifier without spaces and surrounding punctuation ("INV 00 42." -> "INV0042")."""
    return re.sub(r"\s+", "", text).strip(".,;:#")


def normalize_enum(text: str, allowed: list[str]) -> str | None:
    """The allowed value `text` names: exact (case-insensitive), its initial ("Female" -> "F"),
    or the closest allowed value by fuzzy match."""
    t = text.strip()
    if not t or not allowed:
        return None
    for a in allowed:
        if t.lower() == a.lower():
            return a
    if all(len(a) == 1 for a in allowed):
        first = t[0].upper()
        return first if first in allowed and t.isalpha() else None
    hit = process.extractOne(t, allowed, scorer=fuzz.WRatio, score_cutoff=85)
    return hit[0] if hit else None


def decimal_or_none(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None


@dataclass(frozen=True)
class Context:
    """What the document says about how to read its values."""

    date_order: DateOrder | None = None
    currency: str | None = None


def normalize(kind: str, text: str, ctx: Context = Context(), enum: list[str] | None = None):
    """Normalize `text` as a value of type `kind`; None when it is not a valid value of that type."""
    if kind == "date":
        return normalize_date(text, ctx.date_order)
    if kind == "money":
        got = normalize_money(text)
        return got[0] if got else None
    if kind == "duration":
        return normalize_duration(text)
    if kind == "number":
        return normalize_number(text)
    if kind == "id":
        out = normalize_id(text)
        return out or None
    if kind == "enum":
        return normalize_enum(text, enum or [])
    cleaned = " ".join(text.split())
    return cleaned or None
