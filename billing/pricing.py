"""Invoice pricing: from a trade's snapshotted terms and its derived usage to exact lines.

Rules (each amount is rounded once, by the rule named on its line):
- Machine-hours: measured run time rounded to the listing's billing increment — up
  (``ceiling``, the common shop rule) or to the nearest increment (``nearest``, halves up) —
  then × the hourly rate, amount rounded HALF_UP to the minor unit. Approved overrun is billed
  the same way; unapproved overrun is shown, never billed.
- Parts: accepted parts × unit price.
- Setup fee once; if usage + setup is below the minimum charge, a top-up line makes up the
  difference.
- Material and freight are lines of their own.
- VAT is computed ONCE on the net total (HALF_UP to 0.01) at the rate snapshotted for the kind
  of service (13 % processing, 6 % testing and metrology).
- Commission is a percentage of the net, clamped to the category's minimum and maximum,
  HALF_UP; it is never added to the buyer's total. The provider's share is what remains by
  subtraction (net − commission), so net = share + commission and gross = net + VAT, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from billing.money import HALF_UP, quantize

HOUR = Decimal(3600)
ZERO = Decimal("0")


@dataclass(frozen=True)
class Terms:
    """What a trade agreed, snapshotted at booking or award (listing edits never change it)."""

    currency: str
    billing_unit: str  # "machine_hour" | "part"
    rate: Decimal  # per machine-hour or per part
    setup_fee: Decimal = ZERO
    minimum_charge: Decimal = ZERO
    billing_increment_minutes: int = 15
    increment_rounding: str = "ceiling"  # "ceiling" | "nearest"
    vat_rate: Decimal = Decimal("0.13")
    commission_rate: Decimal = Decimal("0.05")
    commission_min: Decimal = ZERO
    commission_max: Decimal | None = None
    material: Decimal = ZERO
    freight: Decimal = ZERO


@dataclass(frozen=True)
class Usage:
    """Final usage of the trade (from metering, job reports and inspection)."""

    booked_seconds: int = 0
    measured_seconds: int = 0
    approved_overrun_seconds: int = 0
    unapproved_overrun_seconds: int = 0
    accepted_parts: int = 0


@dataclass(frozen=True)
class Line:
    code: str  # machine_hours | overrun | parts | setup | minimum_top_up | material | freight
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    rule: str


@dataclass(frozen=True)
class Quote:
    currency: str
    lines: list[Line]
    net: Decimal
    vat_rate: Decimal
    vat: Decimal
    gross: Decimal
    commission: Decimal
    provider_share: Decimal
    notes: list[str] = field(default_factory=list)


def billed_hours(seconds: int, *, increment_minutes: int, rounding: str) -> Decimal:
    """Seconds of run time → billable hours on the increment grid."""
    if seconds <= 0:
        return ZERO
    increment = Decimal(increment_minutes * 60)
    steps = Decimal(seconds) / increment
    if rounding == "ceiling":
        steps = steps.to_integral_value(rounding="ROUND_CEILING")
    elif rounding == "nearest":
        steps = steps.to_integral_value(rounding=ROUND_HALF_UP)
    else:
        raise ValueError(f"unknown increment rounding {rounding!r}")
    return steps * increment / HOUR


def _line(code, description, quantity, unit, unit_price, currency, rule="half_up") -> Line:
    return Line(
        code=code,
        description=str(description),
        quantity=quantity,
        unit=unit,
        unit_price=unit_price,
        amount=quantize(quantity * unit_price, currency, HALF_UP),
        rule=rule,
    )


@dataclass(frozen=True)
class Billed:
    """What the trade's period invoices billed before this one (sums over their lines), so the
    next invoice bills only the difference. Machine-hours are billed *cumulatively*: each invoice
    bills rounded-hours(usage to date) − hours billed before, and the amount likewise
    round(hours to date × rate) − amounts billed before, so however the usage is cut into
    periods the trade's invoices add up to exactly what one invoice for all of it would bill."""

    measured_seconds: int = 0
    hours: Decimal = ZERO
    hours_amount: Decimal = ZERO
    work: Decimal = ZERO  # machine-hours and setup billed: what the minimum charge is measured against
    net: Decimal = ZERO
    commission: Decimal = ZERO
    setup: bool = False


NOTHING_BILLED = Billed()


def _hours_line(terms: Terms, *, seconds_to_date: int, billed: Billed, description) -> Line:
    """Machine-hours to date minus what was billed: quantity and amount both by difference."""
    hours_to_date = billed_hours(
        seconds_to_date, increment_minutes=terms.billing_increment_minutes, rounding=terms.increment_rounding
    )
    amount_to_date = quantize(hours_to_date * terms.rate, terms.currency, HALF_UP)
    rule = f"{terms.increment_rounding}_{terms.billing_increment_minutes}min+half_up"
    return Line(
        code="machine_hours",
        description=str(description),
        quantity=hours_to_date - billed.hours,
        unit="h",
        unit_price=terms.rate,
        amount=amount_to_date - billed.hours_amount,
        rule=f"cumulative_{rule}" if billed.hours else rule,
    )


def _totals(terms: Terms, lines: list[Line], notes: list[str], billed: Billed) -> Quote:
    """Net, VAT (once, on this invoice's net) and the commission: the trade's commission to date
    minus what earlier invoices took, so the category's minimum and maximum hold per trade."""
    currency = terms.currency
    net = sum((line.amount for line in lines), ZERO)
    vat = quantize(net * terms.vat_rate, currency, HALF_UP)
    commission = commission_on(billed.net + net, terms) - billed.commission
    commission = max(min(commission, net), ZERO)  # never more than the work itself
    return Quote(
        currency=currency,
        lines=lines,
        net=net,
        vat_rate=terms.vat_rate,
        vat=vat,
        gross=net + vat,
        commission=commission,
        provider_share=net - commission,
        notes=notes,
    )


def price_period(terms: Terms, *, seconds_to_date: int, billed: Billed, period: str) -> Quote:
    """A period invoice of a long rental: the machine-hours measured up to the period's end that
    earlier period invoices did not bill, and the setup fee on the first one. Overrun, the
    minimum-charge top-up, material and freight wait for the final invoice."""
    if terms.billing_unit != "machine_hour":
        raise ValueError("only machine-hour trades are invoiced by period")
    seconds_to_date = max(seconds_to_date, billed.measured_seconds)
    lines = [
        _hours_line(
            terms,
            seconds_to_date=seconds_to_date,
            billed=billed,
            description=_(
                "Machine-hours, period %(period)s (measured %(measured)s h to date, %(billed)s h billed before)"
            )
            % {
                "period": period,
                "measured": _hours(Decimal(seconds_to_date) / HOUR),
                "billed": _hours(billed.hours),
            },
        )
    ]
    if terms.setup_fee and not billed.setup:
        lines.append(_line("setup", _("Setup"), Decimal(1), "", terms.setup_fee, terms.currency))
    return _totals(terms, lines, [], billed)


def price_trade(terms: Terms, usage: Usage, billed: Billed = NOTHING_BILLED) -> Quote:
    """The trade's (final) invoice; with ``billed``, only what its period invoices did not bill."""
    currency = terms.currency
    lines: list[Line] = []
    notes: list[str] = []
    if terms.billing_unit == "machine_hour":
        booked = Decimal(usage.booked_seconds) / HOUR
        measured = {"measured": _hours(Decimal(usage.measured_seconds) / HOUR), "booked": _hours(booked)}
        if billed.hours or billed.setup:
            description = _(
                "Machine-hours (measured %(measured)s h, booked %(booked)s h; %(billed)s h billed by period invoices)"
            ) % {**measured, "billed": _hours(billed.hours)}
        else:
            description = _("Machine-hours (measured %(measured)s h, booked %(booked)s h)") % measured
        seconds_to_date = usage.measured_seconds
        if seconds_to_date < billed.measured_seconds:
            # Later corrections lowered the usage below what period invoices billed: bill no
            # hours here (never a negative line); the difference is for a credit note.
            notes.append(
                str(_("Corrected usage is %(hours)s h below what period invoices billed; ask for a credit note."))
                % {"hours": _hours(Decimal(billed.measured_seconds - seconds_to_date) / HOUR)}
            )
            seconds_to_date = billed.measured_seconds
        lines.append(_hours_line(terms, seconds_to_date=seconds_to_date, billed=billed, description=description))
        if usage.approved_overrun_seconds:
            overrun = billed_hours(
                usage.approved_overrun_seconds,
                increment_minutes=terms.billing_increment_minutes,
                rounding=terms.increment_rounding,
            )
            lines.append(
                _line(
                    "overrun",
                    _("Approved overrun"),
                    overrun,
                    "h",
                    terms.rate,
                    currency,
                    rule=f"{terms.increment_rounding}_{terms.billing_increment_minutes}min+half_up",
                )
            )
        if usage.unapproved_overrun_seconds:
            notes.append(
                str(_("%(hours)s h of run time outside the booking were not approved and are not billed."))
                % {"hours": _hours(Decimal(usage.unapproved_overrun_seconds) / HOUR)}
            )
    elif terms.billing_unit == "part":
        lines.append(_line("parts", _("Accepted parts"), Decimal(usage.accepted_parts), "pcs", terms.rate, currency))
    else:
        raise ValueError(f"unknown billing unit {terms.billing_unit!r}")
    if terms.setup_fee and not billed.setup:
        lines.append(_line("setup", _("Setup"), Decimal(1), "", terms.setup_fee, currency))
    # The minimum charge applies to the whole trade: the work of its period invoices counts.
    work = billed.work + sum((line.amount for line in lines), ZERO)
    if terms.minimum_charge and work < terms.minimum_charge:
        top_up = terms.minimum_charge - work
        lines.append(_line("minimum_top_up", _("Minimum charge top-up"), Decimal(1), "", top_up, currency))
    if terms.material:
        lines.append(_line("material", _("Material"), Decimal(1), "", terms.material, currency))
    if terms.freight:
        lines.append(_line("freight", _("Freight"), Decimal(1), "", terms.freight, currency))

    return _totals(terms, lines, notes, billed)


def commission_on(net: Decimal, terms: Terms) -> Decimal:
    """The platform's commission on ``net``: the rate HALF_UP, clamped to the category's minimum
    and maximum, and never more than the net itself (so the provider's share is never negative).
    Non-decreasing in ``net``, and so is ``net − commission``: crediting part of an invoice
    never raises either."""
    commission = quantize(net * terms.commission_rate, terms.currency, HALF_UP)
    commission = max(commission, terms.commission_min)
    if terms.commission_max is not None:
        commission = min(commission, terms.commission_max)
    return max(min(commission, net), ZERO)


def price_extra_lines(terms: Terms, lines: list[Line]) -> Quote:
    """A supplementary invoice: lines agreed after the primary invoice, priced by the trade's
    rules — VAT once on their net total (HALF_UP), commission on that net (rate, min, max),
    the provider's share by subtraction."""
    net = sum((line.amount for line in lines), ZERO)
    vat = quantize(net * terms.vat_rate, terms.currency, HALF_UP)
    commission = commission_on(net, terms)
    return Quote(
        currency=terms.currency,
        lines=lines,
        net=net,
        vat_rate=terms.vat_rate,
        vat=vat,
        gross=net + vat,
        commission=commission,
        provider_share=net - commission,
    )


def extra_line(*, description: str, quantity: Decimal, unit: str, unit_price: Decimal, currency: str) -> Line:
    return _line("extra", description, quantity, unit, unit_price, currency)


@dataclass(frozen=True)
class CreditSplit:
    """What one credit note takes off an invoice (positive amounts): gross = net + VAT and
    net = commission + provider share, exactly."""

    gross: Decimal
    net: Decimal
    vat: Decimal
    commission: Decimal
    provider_share: Decimal


def split_credit(
    amount: Decimal, *, remaining_net: Decimal, remaining_vat: Decimal, remaining_commission: Decimal, terms: Terms
) -> CreditSplit:
    """Split a credited gross ``amount`` by the invoice's VAT rate.

    Rule (one rounding, HALF_UP): credited net = amount / (1 + VAT rate) rounded HALF_UP to the
    minor unit, credited VAT = amount − credited net; each is kept within what remains of the
    invoice (a cent moves to the other part when earlier notes left the remainder a cent off the
    rate). Crediting all that remains takes exactly the remaining net and VAT. The commission is
    recomputed on the reduced net (rate, min, max): credited commission = remaining − new; the
    provider's share credited is the rest of the credited net, by subtraction."""
    remaining_gross = remaining_net + remaining_vat
    if amount == remaining_gross:
        net, vat = remaining_net, remaining_vat
    else:
        net = min(quantize(amount / (1 + terms.vat_rate), terms.currency, HALF_UP), remaining_net)
        vat = amount - net
        if vat > remaining_vat:
            vat = remaining_vat
            net = amount - vat
    new_commission = commission_on(remaining_net - net, terms)
    commission = max(remaining_commission - new_commission, ZERO)
    commission = min(commission, net)
    return CreditSplit(gross=amount, net=net, vat=vat, commission=commission, provider_share=net - commission)


def _hours(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}".rstrip("0").rstrip(".")
