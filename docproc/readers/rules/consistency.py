"""Choosing amounts together: of the candidates for subtotal, tax and total, a set where
subtotal + tax = total is far more likely right than each field's best guess alone."""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import product

from docproc.normalize import find_amounts
from docproc.readers.rules.candidates import Candidate
from docproc.readers.rules.values import Value
from docproc.readers.rules.view import DocView

_CENT = Decimal("0.01")
TOP = 4  # candidates per field considered
BONUS = 0.25  # confidence gained by the fields of a consistent set


def _amount(c: Candidate) -> Decimal:
    return Decimal(str(c.value.normalized))


def resolve_totals(pools: dict[str, list[Candidate]]) -> dict[str, Candidate] | None:
    """The consistent (subtotal, tax, total) choice with the highest summed score, each with
    raised confidence; None when no choice adds up (then each field keeps its own best)."""
    names = ("subtotal", "tax", "total")
    if not all(pools.get(n) for n in names):
        return None
    best: tuple[float, tuple[Candidate, ...]] | None = None
    for combo in product(*(pools[n][:TOP] for n in names)):
        sub, tax, total = (_amount(c) for c in combo)
        if tax <= 0 or sub <= 0 or abs(sub + tax - total) > 2 * _CENT:
            continue
        if len({id(c.line) * 1000 + c.value.start for c in combo}) < 3:
            continue  # one printed number cannot be two fields
        score = sum(c.score for c in combo)
        if best is None or score > best[0]:
            best = (score, combo)
    if best is None:
        return None
    out = {}
    for name, c in zip(names, best[1]):
        c.score = min(1.0, c.score + BONUS)
        out[name] = c
    return out


# A tax is a part of the total, and a small one: the highest VAT rates (about 27 %) make it a
# fifth of the total; a "tax" over half the total is another amount. Where the total is
# printed with cents, so is its tax: a bare "2" or "03" under a tax heading is a count or code.
MAX_TAX_SHARE = Decimal("0.5")
_CENTS = re.compile(r"\d[.,]\d\d\b")


def plausible_tax(amount: Decimal, text: str, total: Decimal, total_text: str) -> bool:
    if not 0 <= amount <= total * MAX_TAX_SHARE:
        return False
    return bool(_CENTS.search(text)) or not _CENTS.search(total_text)


def tax_under_total(tax: list[Candidate], total: Decimal, total_text: str) -> Candidate | None:
    """The best tax candidate that is a plausible part of the total. Tax words inside the
    total's label find the total's own amount ("Total Sales (Inclusive GST) RM 2.50"; 25 of
    86 receipts' taxes equalled their total), or the amount before tax beside it."""
    return next((c for c in tax if plausible_tax(_amount(c), c.value.text, total, total_text)), None)


# Receipts: what the customer handed over and got back. Tendered − change = the total paid.
_TENDERED = re.compile(r"\b(cash|tender(?:ed)?|paid|payment|visa|master|card)\b", re.IGNORECASE)
_CHANGE = re.compile(r"\b(change|balance)\b", re.IGNORECASE)


def _labelled_amounts(view: DocView, label: re.Pattern) -> list[Decimal]:
    """Amounts on a line that carries `label`, or in the cell right of it."""
    out: list[Decimal] = []
    for ln in view.lines:
        m = label.search(ln.text)
        if not m:
            continue
        for piece in [ln.text[m.end():]] + [o.text for o in view.right_of(ln, max_gap=1.0)[:2]]:
            out.extend(Decimal(str(a.normalized)) for a in find_amounts(piece)
                       if re.search(r"[.,]\d{2}$", a.text.rstrip(" A-Z")))
    return out


def tendered_total(view: DocView, spec, cands: list[Candidate]) -> None:
    """Raise the total candidate that equals tendered − change (or add the printed amount
    that does, when no label led to it), lower one that is the tendered amount itself (a
    receipt's CASH 50.00 is not its total)."""
    tendered = [t for t in _labelled_amounts(view, _TENDERED) if t > 0]
    change = [c for c in _labelled_amounts(view, _CHANGE) if c > 0]
    if not tendered:
        return
    paid = {t - c for t in tendered for c in change if t > c}
    if paid and not any(_amount(c) in paid for c in cands):
        for ln in view.lines:
            if _TENDERED.search(ln.text) or _CHANGE.search(ln.text):
                continue
            hit = next((a for a in find_amounts(ln.text) if Decimal(str(a.normalized)) in paid
                        and re.search(r"[.,]\d{2}$", a.text.rstrip(" A-Z"))), None)
            if hit is not None:
                value = Value(hit.start, hit.end, hit.text, hit.normalized, hit.currency)
                cands.append(Candidate(spec.name, value, ln, 0, 0.75, "tendered - change"))
                break
    for c in cands:
        amount = _amount(c)
        if amount in paid:
            c.score = min(1.0, c.score + BONUS)
        elif amount in tendered and any(x > 0 for x in change) and _TENDERED.search(c.line.text):
            c.score *= 0.6


_ROUNDING = re.compile(r"\bround", re.IGNORECASE)
_NICKEL = Decimal("0.05")


def rounded_total(view: DocView, cands: list[Candidate]) -> None:
    """Where a receipt rounds its total to 5 cents ("Rounding Adj -0.02"), the amount paid is
    the rounded one: an unrounded candidate within 5 cents of a rounded one gives way to it."""
    if not any(_ROUNDING.search(ln.text) for ln in view.lines):
        return
    amounts = [_amount(c) for c in cands]
    rounded = [a for a in amounts if a % _NICKEL == 0 and a > 0]
    for c, a in zip(cands, amounts):
        if a % _NICKEL != 0 and any(abs(a - r) < _NICKEL for r in rounded):
            c.score *= 0.75
