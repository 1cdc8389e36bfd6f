"""Money: a Decimal amount with an explicit currency, rounded once by a named rule.

Amounts are kept as ``Decimal``; integer minor units appear only at the Stripe boundary
(:func:`to_minor_units`). Each rounding in the code base names its rule from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, get_currency_precision
from django.utils import translation

# Named rounding rules.
HALF_UP = ROUND_HALF_UP  # invoices, VAT, commission: 0.005 → 0.01 (GB/T 8170 "四舍五入")
CEILING = ROUND_CEILING  # billing increments rounded up in the provider's favour when the listing says so

BABEL_LOCALES = {"zh-hans": "zh_Hans_CN", "en": "en"}


def minor_unit_exponent(currency: str) -> int:
    return get_currency_precision(currency)


def quantize(amount: Decimal, currency: str, rule: str = HALF_UP) -> Decimal:
    """Round ``amount`` to the currency's minor unit by ``rule``."""
    exponent = Decimal(1).scaleb(-minor_unit_exponent(currency))
    return Decimal(amount).quantize(exponent, rounding=rule)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Integer minor units (fen, cents) for Stripe; the amount must already be rounded."""
    scaled = Decimal(amount).scaleb(minor_unit_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} is not rounded to the minor unit")
    return int(scaled)


def from_minor_units(value: int, currency: str) -> Decimal:
    return Decimal(value).scaleb(-minor_unit_exponent(currency))


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self):
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money.amount must be a Decimal")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def rounded(self, rule: str = HALF_UP) -> Money:
        return Money(quantize(self.amount, self.currency, rule), self.currency)

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)


def format_money(amount, currency: str, language: str | None = None) -> str:
    """Format for display in the active language: ¥1,234.50 in Chinese, CN¥1,234.50 in English."""
    language = (language or translation.get_language() or "zh-hans").lower()
    locale = BABEL_LOCALES.get(language, "en")
    return format_currency(Decimal(amount), currency, locale=locale)
