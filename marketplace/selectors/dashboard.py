"""Market dashboard figures for operators, each one SQL query over a fixed window ending at
``now``. Days and weeks are local (settings.TIME_ZONE); intervals are half-open.

- orders per day: orders opened (their draft → open event) per local day, last 30 days;
- fill rate: of the orders opened in the last 30 days, the share that reached matched, and
  the share that reached awarded;
- median time to match / to award: from the open event to the first matched / awarded event;
- volume and commission per week: sum of trade estimates and of estimate × commission rate
  (trades in the default currency, cancelled ones excluded), last 8 weeks;
- utilisation: booked hours / idle hours of listed resources over the last 4 weeks, by major
  category and by the provider's province;
- unmet demand: open orders whose latest finished match run found nothing, by category.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone

ORDER_DAYS = 30
VOLUME_WEEKS = 8
UTILISATION_WEEKS = 4


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _local_midnight(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def orders_per_day(*, now: datetime, days: int = ORDER_DAYS) -> list[tuple[date, int]]:
    """(local day, orders opened that day) for the ``days`` days ending today, zeros included."""
    end = _local_midnight(now) + timedelta(days=1)
    start = end - timedelta(days=days)
    rows = _rows(
        """
        SELECT d::date, COUNT(e.id)
        FROM generate_series(%(start)s AT TIME ZONE %(tz)s, %(last)s AT TIME ZONE %(tz)s, interval '1 day') d
        LEFT JOIN marketplace_orderevent e
          ON e.to_status = 'open' AND e.from_status = 'draft'
         AND (e.at AT TIME ZONE %(tz)s)::date = d::date AND e.at >= %(start)s AND e.at < %(end)s
        GROUP BY d ORDER BY d
        """,
        {"start": start, "end": end, "last": end - timedelta(days=1), "tz": settings.TIME_ZONE},
    )
    return [(day, count) for day, count in rows]


@dataclass(frozen=True)
class Funnel:
    opened: int
    matched: int
    awarded: int
    median_hours_to_match: float | None
    median_hours_to_award: float | None

    @property
    def match_rate(self) -> Decimal | None:
        return (Decimal(self.matched) * 100 / self.opened).quantize(Decimal("0.1")) if self.opened else None

    @property
    def award_rate(self) -> Decimal | None:
        return (Decimal(self.awarded) * 100 / self.opened).quantize(Decimal("0.1")) if self.opened else None


def order_funnel(*, now: datetime, days: int = ORDER_DAYS) -> Funnel:
    """Orders opened in the window, how many were later matched and awarded, and the median
    hours from opening to the first matched and the first awarded event."""
    [(opened, matched, awarded, to_match, to_award)] = _rows(
        """
        WITH opened AS (
            SELECT order_id, MIN(at) AS at FROM marketplace_orderevent
            WHERE to_status = 'open' AND from_status = 'draft' AND at >= %(start)s AND at < %(end)s
            GROUP BY order_id
        ), firsts AS (
            SELECT o.order_id, o.at AS opened_at,
                   MIN(e.at) FILTER (WHERE e.to_status = 'matched') AS matched_at,
                   MIN(e.at) FILTER (WHERE e.to_status = 'awarded') AS awarded_at
            FROM opened o LEFT JOIN marketplace_orderevent e ON e.order_id = o.order_id AND e.at >= o.at
            GROUP BY o.order_id, o.at
        )
        SELECT COUNT(*), COUNT(matched_at), COUNT(awarded_at),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM matched_at - opened_at))
                   FILTER (WHERE matched_at IS NOT NULL) / 3600.0,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM awarded_at - opened_at))
                   FILTER (WHERE awarded_at IS NOT NULL) / 3600.0
        FROM firsts
        """,
        {"start": now - timedelta(days=days), "end": now},
    )
    return Funnel(
        opened=opened,
        matched=matched,
        awarded=awarded,
        median_hours_to_match=round(float(to_match), 2) if to_match is not None else None,
        median_hours_to_award=round(float(to_award), 2) if to_award is not None else None,
    )


def weekly_volume(*, now: datetime, weeks: int = VOLUME_WEEKS) -> list[tuple[date, Decimal, Decimal]]:
    """(local Monday, volume, commission) for the last ``weeks`` weeks (this one included)."""
    midnight = _local_midnight(now)
    this_monday = midnight - timedelta(days=midnight.weekday())
    start = this_monday - timedelta(weeks=weeks - 1)
    rows = _rows(
        """
        SELECT w::date, COALESCE(SUM(t.price_estimate), 0), COALESCE(SUM(t.price_estimate * t.commission_rate), 0)
        FROM generate_series(%(start)s AT TIME ZONE %(tz)s, %(monday)s AT TIME ZONE %(tz)s, interval '1 week') w
        LEFT JOIN marketplace_trade t
          ON date_trunc('week', t.created_at AT TIME ZONE %(tz)s) = w
         AND t.status <> 'cancelled' AND t.currency = %(currency)s AND t.created_at < %(now)s
        GROUP BY w ORDER BY w
        """,
        {
            "start": start,
            "monday": this_monday,
            "now": now,
            "tz": settings.TIME_ZONE,
            "currency": settings.SPINDLE_DEFAULT_CURRENCY,
        },
    )
    return [
        (week, Decimal(volume).quantize(Decimal("0.01")), Decimal(fee).quantize(Decimal("0.01")))
        for week, volume, fee in rows
    ]


_UTILISATION = """
    WITH win AS (SELECT tstzrange(%(start)s, %(end)s, '[)') AS r),
    idle AS (
        SELECT i.resource_id, SUM(EXTRACT(EPOCH FROM upper(i.span * win.r) - lower(i.span * win.r))) AS s
        FROM capacity_idlewindow i, win WHERE i.span && win.r GROUP BY i.resource_id
    ),
    booked AS (
        SELECT b.resource_id, SUM(EXTRACT(EPOCH FROM upper(b.span * win.r) - lower(b.span * win.r))) AS s
        FROM capacity_booking b, win
        WHERE b.span && win.r AND b.status IN ('confirmed', 'completed') GROUP BY b.resource_id
    )
    SELECT {key} AS k, COALESCE(SUM(booked.s), 0) / 3600.0, COALESCE(SUM(idle.s), 0) / 3600.0
    FROM capacity_resource r
    JOIN capacity_category c ON c.id = r.category_id
    JOIN capacity_category m ON m.id = c.parent_id
    LEFT JOIN capacity_providerprofile p ON p.organisation_id = r.provider_id
    LEFT JOIN idle ON idle.resource_id = r.id
    LEFT JOIN booked ON booked.resource_id = r.id
    WHERE r.status = 'listed'
    GROUP BY k HAVING COALESCE(SUM(idle.s), 0) > 0 ORDER BY k
"""


@dataclass(frozen=True)
class Utilisation:
    key: str
    label: str
    booked_hours: Decimal
    idle_hours: Decimal

    @property
    def percent(self) -> Decimal:
        return (self.booked_hours * 100 / self.idle_hours).quantize(Decimal("0.1"))


def _utilisation(key_sql: str, *, now: datetime, weeks: int) -> list[tuple[str, Decimal, Decimal]]:
    rows = _rows(
        _UTILISATION.replace("{key}", key_sql),
        {"start": now - timedelta(weeks=weeks), "end": now},
    )
    return [(k, Decimal(b).quantize(Decimal("0.01")), Decimal(i).quantize(Decimal("0.01"))) for k, b, i in rows]


def utilisation_by_category(*, now: datetime, weeks: int = UTILISATION_WEEKS) -> list[Utilisation]:
    """Booked / idle hours of listed resources per major category (by its code)."""
    from capacity.models import Category

    rows = _utilisation("m.code", now=now, weeks=weeks)
    names = {c.code: c.name for c in Category.objects.filter(code__in=[k for k, _b, _i in rows])}
    return [Utilisation(k, names.get(k, k), b, i) for k, b, i in rows]


def utilisation_by_province(*, now: datetime, weeks: int = UTILISATION_WEEKS) -> list[Utilisation]:
    """Booked / idle hours of listed resources per province of their provider."""
    from django.utils.translation import get_language

    from capacity.reference import province_names

    chinese = (get_language() or "").startswith("zh")
    names = province_names()
    rows = _utilisation("COALESCE(p.province, '')", now=now, weeks=weeks)
    return [Utilisation(k, names[k][0 if chinese else 1] if k in names else (k or "—"), b, i) for k, b, i in rows]


def unmet_demand() -> list[tuple[str, str, int]]:
    """(category code, name, open orders) where the order's latest finished match run found
    nothing: where providers should be recruited. Most orders first."""
    from capacity.models import Category

    rows = _rows(
        """
        WITH latest AS (
            SELECT DISTINCT ON (run.order_id) run.order_id, run.id
            FROM marketplace_matchrun run WHERE run.status = 'done'
            ORDER BY run.order_id, run.finished_at DESC NULLS LAST, run.id DESC
        )
        SELECT c.code, COUNT(*) FROM latest
        JOIN marketplace_order o ON o.id = latest.order_id
        JOIN capacity_category c ON c.id = o.category_id
        WHERE o.status = 'open' AND NOT EXISTS (SELECT 1 FROM marketplace_match m WHERE m.run_id = latest.id)
        GROUP BY c.code ORDER BY COUNT(*) DESC, c.code
        """,
        {},
    )
    names = {c.code: c.name for c in Category.objects.filter(code__in=[code for code, _n in rows])}
    return [(code, names.get(code, code), n) for code, n in rows]


def default_currency() -> str:
    return settings.SPINDLE_DEFAULT_CURRENCY
