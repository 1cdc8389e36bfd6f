"""Readable reasons, in the user's language: why a match fits, and why nothing matched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.money import format_money
from marketplace.matching.candidates import CONSTRAINT_LABELS, Funnel
from marketplace.matching.pricing import MACHINE_HOUR, PriceBreakdown
from marketplace.matching.request import MatchRequest


def number(value: Decimal | float | int, places: int | None = None) -> str:
    """A plain number without trailing zeros (``22``, ``22.25``), localised separators."""
    value = Decimal(str(value))
    if places is not None:
        value = round(value, places)
    text = format(value.normalize(), "f")
    return formats.number_format(Decimal(text), decimal_pos=None, use_l10n=True, force_grouping=False)


def day(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "MONTH_DAY_FORMAT")


def moment(value: datetime) -> str:
    local = timezone.localtime(value)
    return f"{formats.date_format(local, 'MONTH_DAY_FORMAT')} {formats.time_format(local, 'H:i')}"


def dimensions(values) -> str:
    return "×".join(number(v) for v in values)


def price_text(price: PriceBreakdown) -> str:
    """``¥4,200.00 = 22 h × ¥180.00 + ¥240.00 setup`` (with the minimum-charge top-up when applied)."""
    money = lambda amount: format_money(amount, price.currency)  # noqa: E731
    if price.billing_unit == MACHINE_HOUR:
        work = _("%(hours)s h × %(rate)s") % {"hours": number(price.billed_hours), "rate": money(price.rate)}
    else:
        work = ngettext("%(quantity)s part × %(rate)s", "%(quantity)s parts × %(rate)s", price.quantity) % {
            "quantity": price.quantity,
            "rate": money(price.rate),
        }
    if price.setup_fee:
        work = _("%(work)s + %(setup)s setup") % {"work": work, "setup": money(price.setup_fee)}
    if price.minimum_topup:
        return _("%(total)s minimum charge (%(work)s = %(subtotal)s)") % {
            "total": money(price.total),
            "work": work,
            "subtotal": money(price.total - price.minimum_topup),
        }
    return _("%(total)s = %(work)s") % {"total": money(price.total), "work": work}


def match_reasons(match, request: MatchRequest) -> list[str]:
    """The pieces of a match's explanation, most telling first."""
    reasons = []
    candidate = match.candidate
    if request.part_dims is not None and candidate.envelope is not None:
        reasons.append(
            _("fits envelope %(part)s within %(envelope)s")
            % {
                "part": dimensions((request.part_x_mm, request.part_y_mm, request.part_z_mm)),
                "envelope": dimensions(candidate.envelope),
            }
        )
    reasons.append(_("%(hours)s h free before the due date") % {"hours": number(match.free_hours, 1)})
    reasons.append(_("finishes %(when)s") % {"when": moment(match.finish)})
    reasons.append(price_text(match.price))
    if match.distance_km is not None:
        reasons.append(_("%(km)s km") % {"km": number(match.distance_km, 0)})
    return reasons


@dataclass
class NoMatch:
    """Why nothing matched: the survivors after each constraint, the one that removed the most,
    and the earliest finish any resource passing the other constraints could offer."""

    steps: list[tuple[str, int]]
    constraint: str
    removed: int
    earliest_finish: datetime | None
    message: str


def no_match(result: Funnel, request: MatchRequest) -> NoMatch:
    steps = result.steps
    if steps[0][1] == 0:
        return NoMatch(steps, "category", 0, None, _("No listed resource in this category."))
    drops = [(steps[i - 1][1] - steps[i][1], -i, steps[i][0], steps[i - 1][1]) for i in range(1, len(steps))]
    removed, _neg_index, key, before = max(drops)
    static_survivors = steps[-2][1]  # after every constraint except free time
    pieces = []
    if key != "time":
        pieces.append(
            _("most candidates were ruled out by: %(constraint)s (%(removed)s of %(count)s)")
            % {"constraint": CONSTRAINT_LABELS[key], "removed": removed, "count": before}
        )
    if static_survivors:
        if result.earliest_finish is not None:
            pieces.append(
                ngettext(
                    "%(count)s machine fits, none is free before %(due)s; earliest finish %(earliest)s",
                    "%(count)s machines fit, none is free before %(due)s; earliest finish %(earliest)s",
                    static_survivors,
                )
                % {"count": static_survivors, "due": day(request.due), "earliest": day(result.earliest_finish)}
            )
        else:
            pieces.append(
                ngettext(
                    "%(count)s machine fits, none has enough free time in its published calendar",
                    "%(count)s machines fit, none has enough free time in their published calendars",
                    static_survivors,
                )
                % {"count": static_survivors}
            )
    return NoMatch(steps, key, removed, result.earliest_finish, "; ".join(pieces))
