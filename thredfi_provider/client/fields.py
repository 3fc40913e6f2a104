"""The field types every record model shares: cents, dates, currencies, bounded text.

Each accepts what data engineers hold (a ``datetime``, a lower-case currency) and normalises it
to what the API reference takes, so the models and the line items declare fields, not checks.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictInt

MAX_CENTS = 100_000_000_000
CURRENCIES = frozenset({"GBP", "EUR", "USD", "SEK", "NOK", "DKK", "ISK", "MYR", "SGD"})


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        try:
            return (
                dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text).date()
            ).isoformat()
        except ValueError:
            pass
    raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")


def _currency(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in CURRENCIES:
        raise ValueError(f"unsupported currency {value!r}; expected one of {', '.join(sorted(CURRENCIES))}")
    return value.upper()


Cents = Annotated[StrictInt, Field(ge=0, le=MAX_CENTS)]
PositiveCents = Annotated[StrictInt, Field(ge=1, le=MAX_CENTS)]
Date = Annotated[str, BeforeValidator(_date)]
CurrencyCode = Annotated[str, BeforeValidator(_currency)]
ExternalId = Annotated[str, Field(min_length=1, max_length=255)]
Text = Annotated[str, Field(max_length=1000)]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
