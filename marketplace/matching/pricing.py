"""Estimated price of a job on one resource, from its rate card.

One rounding rule, named once: machine time is rounded UP to the resource's billing increment
(``billing.money.CEILING``: a started increment is billed, in the provider's favour, as the
listing says); every money line is then rounded to the currency's minor unit by
``billing.money.HALF_UP`` (四舍五入), and the total is the sum of the rounded lines, so the
breakdown always adds up to the cent.

- per machine-hour: ``ceil(machine minutes / increment) × increment / 60 × rate`` + setup fee;
- per part: ``quantity × rate`` + setup fee;
- either way topped up to the minimum charge when the sum is below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.money import CEILING, HALF_UP, quantize

ROUNDING_RULE = "HALF_UP"  # the named rule of every money line (billing.money.HALF_UP)
MACHINE_HOUR = "machine_hour"
PART = "part"


@dataclass(frozen=True)
class RateCard:
    billing_unit: str
    rate: Decimal
    setup_fee: Decimal
    minimum_charge: Decimal
    currency: str
    billing_increment_minutes: int


@dataclass(frozen=True)
class PriceBreakdown:
    """Every line of an estimate. ``total`` = ``work_amount`` + ``setup_fee`` + ``minimum_topup``."""

    currency: str
    billing_unit: str
    quantity: int
    rate: Decimal
    machine_minutes: Decimal  # setup time + quantity × cycle time
    billed_minutes: Decimal  # machine minutes rounded up to the increment (0 for per-part billing)
    work_amount: Decimal  # billed hours × rate, or parts × rate
    setup_fee: Decimal
    minimum_charge: Decimal
    minimum_topup: Decimal
    total: Decimal
    rounding: str = ROUNDING_RULE

    @property
    def billed_hours(self) -> Decimal:
        return self.billed_minutes / 60


def billed_minutes(machine_minutes: Decimal, increment: int) -> Decimal:
    """Machine minutes rounded up to a whole number of billing increments."""
    increments = (Decimal(machine_minutes) / increment).to_integral_value(rounding=CEILING)
    return increments * increment


def estimate(card: RateCard, *, quantity: int, machine_minutes: Decimal) -> PriceBreakdown:
    currency = card.currency
    if card.billing_unit == MACHINE_HOUR:
        billed = billed_minutes(machine_minutes, card.billing_increment_minutes)
        # Multiply before dividing so an exact amount stays exact before the one rounding.
        work = quantize(billed * card.rate / 60, currency, HALF_UP)
    else:
        billed = Decimal(0)
        work = quantize(quantity * card.rate, currency, HALF_UP)
    setup = quantize(card.setup_fee, currency, HALF_UP)
    minimum = quantize(card.minimum_charge, currency, HALF_UP)
    topup = max(Decimal(0), minimum - (work + setup))
    return PriceBreakdown(
        currency=currency,
        billing_unit=card.billing_unit,
        quantity=quantity,
        rate=card.rate,
        machine_minutes=Decimal(machine_minutes),
        billed_minutes=billed,
        work_amount=work,
        setup_fee=setup,
        minimum_charge=minimum,
        minimum_topup=topup,
        total=work + setup + topup,
    )
