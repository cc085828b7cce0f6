"""Choosing amounts together: of the candidates for subtotal, tax and total, a set where
subtotal + tax = total is far more likely right than each field's best guess alone."""

from __future__ import annotations

from decimal import Decimal
from itertools import product

from docproc.readers.rules.candidates import Candidate

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
