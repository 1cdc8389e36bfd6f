"""The hard constraints, evaluated in PostgreSQL: which resources can do the job before the due date.

Nothing here loads the market into Python: one statement filters the resources on every static
constraint (category, spec fit, weight, tolerance, material, certifications, measurand and range,
visibility, currency, billing unit, cycle time) and, for the survivors only, derives their free
time and the moment the job would finish.

Free time = idle windows − active bookings, as multiranges clipped to ``[start, due)`` where
``start = now + lead_time_buffer_hours`` (range_agg, multirange difference, unnest). The job needs
``setup minutes + quantity × cycle time`` of machine time; it may span several free windows and
finishes when the running total of free time (a window sum ordered by start) reaches that need.

Setup time: the rate card has a setup *fee* (price only). A resource may declare a setup *time* in
``extra_specs["setup_minutes"]`` (a JSON number); without it setup time is 0.

Resources with ``capacity > 1`` (a chamber taking several jobs at once): a moment is blocked only
while ``capacity`` active bookings overlap it — the same rule as
``capacity.selectors.availability.free_windows``. Simplification: the job itself takes one of the
parallel places for its whole machine time; parts are not spread over several places.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from capacity.models import Category
from marketplace.errors import DomainError
from marketplace.matching.pricing import RateCard
from marketplace.matching.request import MatchRequest

ACTIVE_BOOKING = "('held', 'confirmed')"
IDLE_SHARE_PERIOD = timedelta(weeks=4)

# Constraint keys in funnel order, with the label used in explanations.
CONSTRAINT_LABELS = {
    "category": gettext_lazy("category"),
    "verified": gettext_lazy("verified provider"),
    "listed": gettext_lazy("listed"),
    "currency": gettext_lazy("currency"),
    "billing_unit": gettext_lazy("billing unit"),
    "envelope": gettext_lazy("work envelope"),
    "weight": gettext_lazy("part weight"),
    "tolerance": gettext_lazy("tolerance"),
    "material": gettext_lazy("material"),
    "certification": gettext_lazy("certification"),
    "measurand": gettext_lazy("measurand and range"),
    "cycle_time": gettext_lazy("no cycle time"),
    "time": gettext_lazy("free time before the due date"),
}

_LEAST = "LEAST(r.envelope_x_mm, r.envelope_y_mm, r.envelope_z_mm)"
_GREATEST = "GREATEST(r.envelope_x_mm, r.envelope_y_mm, r.envelope_z_mm)"
_SETUP_MINUTES = (
    "CASE WHEN jsonb_typeof(r.extra_specs -> 'setup_minutes') = 'number' "
    "THEN GREATEST((r.extra_specs ->> 'setup_minutes')::numeric, 0) ELSE 0 END"
)


@dataclass
class Candidate:
    """A resource that passed every hard constraint, with its timing for this job."""

    resource_id: int
    provider_id: int
    name: str
    card: RateCard
    capacity: int
    envelope: tuple[Decimal, Decimal, Decimal] | None
    latitude: Decimal | None
    longitude: Decimal | None
    cycle_minutes: Decimal
    setup_minutes: Decimal
    start_at: datetime
    free_seconds: Decimal
    finish: datetime | None
    slots: list[tuple[datetime, datetime]] = field(default_factory=list)
    booked_share: float = 0.0

    @property
    def machine_minutes_each(self) -> Decimal:
        return self.cycle_minutes

    def machine_minutes(self, quantity: int) -> Decimal:
        return self.setup_minutes + quantity * self.cycle_minutes

    @property
    def free_minutes(self) -> Decimal:
        return Decimal(self.free_seconds) / 60


def category_ids(request: MatchRequest, using: str = "default") -> list[int]:
    """The minor categories the request may be served from (a major means all its minors)."""
    category = Category.objects.using(using).filter(code=request.category).first()
    if category is None:
        raise DomainError(_("Unknown category %(code)s.") % {"code": request.category}, code="category")
    if request.kind and request.kind != category.kind:
        raise DomainError(_("The category does not belong to that kind of capacity."), code="kind")
    if category.parent_id is not None:
        return [category.pk]
    return list(Category.objects.using(using).filter(parent=category).values_list("pk", flat=True))


def constraints(request: MatchRequest) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """``[(key, SQL condition)]`` in funnel order (category excluded: it is the base set), and params."""
    conds: list[tuple[str, str]] = [
        ("verified", "p.status = 'verified'"),
        ("listed", "r.status = 'listed'"),
        ("currency", "r.currency = %(currency)s"),
    ]
    params: dict[str, Any] = {
        "currency": request.currency,
        "quantity": request.quantity,
        "cycle": request.cycle_time_minutes,
        "now": request.now,
        "due": request.due,
    }
    if request.kind:
        conds.insert(0, ("category", "r.kind = %(kind)s"))
        params["kind"] = request.kind
    if request.billing_unit:
        conds.append(("billing_unit", "r.billing_unit = %(billing_unit)s"))
        params["billing_unit"] = request.billing_unit
    dims = request.part_dims
    if dims is not None:
        # A part fits when its sorted dimensions are each within the sorted envelope.
        conds.append(
            (
                "envelope",
                "r.envelope_x_mm IS NOT NULL AND r.envelope_y_mm IS NOT NULL AND r.envelope_z_mm IS NOT NULL"
                f" AND {_LEAST} >= %(dim1)s"
                f" AND (r.envelope_x_mm + r.envelope_y_mm + r.envelope_z_mm - {_LEAST} - {_GREATEST}) >= %(dim2)s"
                f" AND {_GREATEST} >= %(dim3)s",
            )
        )
        params.update(dim1=dims[0], dim2=dims[1], dim3=dims[2])
    if request.weight_kg is not None:
        conds.append(("weight", "r.max_part_weight_kg >= %(weight)s"))
        params["weight"] = request.weight_kg
    if request.tolerance_mm is not None:
        conds.append(("tolerance", "r.tolerance_mm <= %(tolerance)s"))
        params["tolerance"] = request.tolerance_mm
    if request.material:
        conds.append(
            (
                "material",
                "EXISTS (SELECT 1 FROM capacity_resource_materials rm JOIN capacity_material m"
                " ON m.id = rm.material_id WHERE rm.resource_id = r.id AND m.code = %(material)s)",
            )
        )
        params["material"] = request.material
    if request.certifications:
        # Every required standard held by the provider, valid on every day from now to the due date.
        conds.append(
            (
                "certification",
                "NOT EXISTS (SELECT 1 FROM unnest(%(standards)s::varchar[]) AS s(standard) WHERE NOT EXISTS ("
                "SELECT 1 FROM capacity_certification cert WHERE cert.profile_id = p.id"
                " AND cert.standard = s.standard AND cert.valid_from <= %(cert_from)s"
                " AND cert.valid_until >= %(cert_until)s))",
            )
        )
        params.update(
            standards=list(request.certifications),
            cert_from=timezone.localdate(request.now),
            cert_until=timezone.localdate(request.due),
        )
    if request.measurand:
        sql = "r.measurand_id = (SELECT ms.id FROM capacity_measurand ms WHERE ms.code = %(measurand)s)"
        if request.range_min is not None:
            sql += " AND r.range_min <= %(range_min)s AND r.range_max >= %(range_max)s"
            params.update(range_min=request.range_min, range_max=request.range_max)
        conds.append(("measurand", sql))
        params["measurand"] = request.measurand
    conds.append(("cycle_time", "COALESCE(%(cycle)s::numeric, r.cycle_time_minutes) IS NOT NULL"))
    return conds, params


_COLUMNS = f"""
    r.id, r.provider_id, r.name, r.billing_unit, r.rate, r.setup_fee, r.minimum_charge, r.currency,
    r.billing_increment_minutes, r.capacity, r.envelope_x_mm, r.envelope_y_mm, r.envelope_z_mm,
    p.latitude, p.longitude,
    COALESCE(%(cycle)s::numeric, r.cycle_time_minutes) AS cycle_min,
    {_SETUP_MINUTES} AS setup_min,
    %(now)s::timestamptz + make_interval(hours => r.lead_time_buffer_hours) AS start_at,
    GREATEST(%(now)s::timestamptz + make_interval(hours => r.lead_time_buffer_hours), {{horizon}}) AS hz_end
"""


def _free_multirange(alias: str) -> str:
    """SQL for the free time of ``alias`` (a row with id, capacity, start_at, hz_end) in
    ``[start_at, hz_end)``: idle windows minus active bookings (minus saturated periods when capacity > 1)."""
    window = f"tstzrange({alias}.start_at, {alias}.hz_end)"
    bookings = (
        f"FROM capacity_booking b WHERE b.resource_id = {alias}.id AND b.status IN {ACTIVE_BOOKING}"
        f" AND b.span && {window}"
    )
    saturated = f"""
        SELECT COALESCE(range_agg(tstzrange(s.p, s.q)), '{{}}'::tstzmultirange) FROM (
            SELECT e.p, lead(e.p) OVER (ORDER BY e.p) AS q FROM (
                SELECT lower(b.span) AS p {bookings} UNION SELECT upper(b.span) {bookings}
            ) e
        ) s
        WHERE s.q IS NOT NULL AND (
            SELECT count(*) FROM capacity_booking b2 WHERE b2.resource_id = {alias}.id
            AND b2.status IN {ACTIVE_BOOKING} AND b2.span && tstzrange(s.p, s.q)
        ) >= {alias}.capacity"""
    return f"""
        (SELECT COALESCE(range_agg(iw.span * {window}), '{{}}'::tstzmultirange)
           FROM capacity_idlewindow iw WHERE iw.resource_id = {alias}.id AND iw.span && {window})
        - (CASE WHEN {alias}.capacity = 1
                THEN (SELECT COALESCE(range_agg(b.span), '{{}}'::tstzmultirange) {bookings})
                ELSE ({saturated}) END)"""


_FINISH = "min(x.lo + make_interval(secs => x.need - (x.cum - x.secs))) FILTER (WHERE x.cum >= x.need) AS finish"


def _timing(alias: str, *, lean: bool = False) -> str:
    """A lateral subquery: free time of ``alias`` in [start_at, hz_end), finish moment and slots used
    (``lean``: the finish moment only, computed by the same expression)."""
    if lean:
        outputs = _FINISH
    else:
        outputs = f"""sum(x.secs) AS free_s, {_FINISH},
           array_agg(extract(epoch FROM x.lo)::float8 ORDER BY x.lo) FILTER (WHERE x.cum - x.secs < x.need)
               AS slot_starts,
           array_agg(extract(epoch FROM upper(x.w))::float8 ORDER BY x.lo) FILTER (WHERE x.cum - x.secs < x.need)
               AS slot_ends"""
    return f"""
    SELECT {outputs}
    FROM (
        SELECT w, lower(w) AS lo,
               extract(epoch FROM upper(w) - lower(w)) AS secs,
               sum(extract(epoch FROM upper(w) - lower(w))) OVER (ORDER BY lower(w)) AS cum,
               ({alias}.setup_min + %(quantity)s * {alias}.cycle_min) * 60 AS need
        FROM unnest({_free_multirange(alias)}) AS w
    ) x"""


def _share() -> str:
    """Booked share of the next four weeks: booked time / (capacity × idle time), 1 if no idle time."""
    period = "tstzrange(%(now)s::timestamptz, %(share_end)s::timestamptz)"
    return f"""
    LEAST(1, COALESCE(
        (SELECT sum(extract(epoch FROM upper(b.span * {period}) - lower(b.span * {period})))
           FROM capacity_booking b WHERE b.resource_id = m.id AND b.status IN {ACTIVE_BOOKING} AND b.span && {period})
        / NULLIF(m.capacity * (SELECT sum(extract(epoch FROM upper(iw.span * {period}) - lower(iw.span * {period})))
           FROM capacity_idlewindow iw WHERE iw.resource_id = m.id AND iw.span && {period}), 0),
        CASE WHEN EXISTS (SELECT 1 FROM capacity_idlewindow iw WHERE iw.resource_id = m.id AND iw.span && {period})
             THEN 0 ELSE 1 END
    ))::float8 AS booked_share"""


def find_candidates(request: MatchRequest, *, using: str = "default", ids: list[int] | None = None) -> list[Candidate]:
    """Every resource that passes all hard constraints and finishes by the due date, in one query
    (only those among ``ids`` when given)."""
    conds, params = constraints(request)
    params.update(category_ids=category_ids(request, using), share_end=request.now + IDLE_SHARE_PERIOD)
    if ids is not None:
        conds.append(("ids", "r.id = ANY(%(ids)s)"))
        params["ids"] = list(ids)
    where = " AND ".join(f"({sql})" for _key, sql in conds)
    sql = f"""
    WITH cand AS MATERIALIZED (
        SELECT {_COLUMNS.format(horizon="%(due)s::timestamptz")}
        FROM capacity_resource r JOIN capacity_providerprofile p ON p.organisation_id = r.provider_id
        WHERE r.category_id = ANY(%(category_ids)s) AND {where}
    ), matched AS MATERIALIZED (
        SELECT c.*, t.free_s, t.finish, t.slot_starts, t.slot_ends
        FROM cand c CROSS JOIN LATERAL ({_timing("c")}) t
        WHERE t.finish IS NOT NULL AND t.finish <= %(due)s
    )
    SELECT m.*, {_share()} FROM matched m
    """
    return [_candidate(row) for row in _fetch(sql, params, using)]


@dataclass(frozen=True)
class Summary:
    """What ranking needs of every match to normalise and prune: no slots, no booked share."""

    resource_id: int
    provider_id: int
    total: Decimal  # the estimate's total, by the rule of pricing.estimate
    finish: datetime
    latitude: Decimal | None
    longitude: Decimal | None


def _total_sql(exponent: int) -> str:
    """``pricing.estimate(...).total`` in SQL, line for line: machine time rounded up to the billing
    increment, every money line rounded to the minor unit half-up (PostgreSQL ``round`` on a
    non-negative numeric is half-up), the sum topped up to the minimum charge. The function
    ``test_summary_totals_are_the_estimates`` holds the two together."""
    minutes = "(m.setup_min + %(quantity)s * m.cycle_min)"
    work = (
        f"CASE WHEN m.billing_unit = 'machine_hour'"
        f" THEN round(ceil({minutes} / m.billing_increment_minutes) * m.billing_increment_minutes * m.rate / 60,"
        f" {exponent}) ELSE round(%(quantity)s * m.rate, {exponent}) END"
    )
    subtotal = f"({work} + round(m.setup_fee, {exponent}))"
    return f"{subtotal} + GREATEST(0, round(m.minimum_charge, {exponent}) - {subtotal})"


def match_summaries(request: MatchRequest, *, using: str = "default") -> list[Summary]:
    """The same set as :func:`find_candidates` (same constraints, same finish expression), with
    only what ranking normalises over: price total, finish and the provider's coordinates. No
    slots and no booked share, the costly part of a long list."""
    from billing.money import minor_unit_exponent

    conds, params = constraints(request)
    params["category_ids"] = category_ids(request, using)
    where = " AND ".join(f"({sql})" for _key, sql in conds)
    exponent = int(minor_unit_exponent(request.currency))
    sql = f"""
    WITH cand AS MATERIALIZED (
        SELECT {_COLUMNS.format(horizon="%(due)s::timestamptz")}
        FROM capacity_resource r JOIN capacity_providerprofile p ON p.organisation_id = r.provider_id
        WHERE r.category_id = ANY(%(category_ids)s) AND {where}
    ), matched AS MATERIALIZED (
        SELECT c.*, t.finish
        FROM (
            -- No need to time a resource that could not finish by the due date even if it were free
            -- all the time from its start (finish ≥ start + machine time; 1 s of float slack).
            SELECT * FROM cand WHERE cand.start_at
                + make_interval(secs => (cand.setup_min + %(quantity)s * cand.cycle_min) * 60 - 1) <= %(due)s
        ) c CROSS JOIN LATERAL ({_timing("c", lean=True)}) t
        WHERE t.finish IS NOT NULL AND t.finish <= %(due)s
    )
    SELECT m.id, m.provider_id, {_total_sql(exponent)} AS total, m.finish, m.latitude, m.longitude
    FROM matched m
    """
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return [Summary(*row) for row in cursor.fetchall()]


def booked_shares(request: MatchRequest, ids: list[int], *, using: str = "default") -> dict[int, float]:
    """The booked share of the next four weeks of each resource in ``ids``, by the very expression
    :func:`find_candidates` uses."""
    params = {"now": request.now, "share_end": request.now + IDLE_SHARE_PERIOD, "ids": list(ids)}
    sql = f"SELECT m.id, {_share()} FROM capacity_resource m WHERE m.id = ANY(%(ids)s)"
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def find_schedulable(request: MatchRequest, *, using: str = "default", limit: int = 200) -> list[Candidate]:
    """Resources that pass every static constraint and have *some* free time before the due date
    (finish is None when they cannot make the whole quantity): the raw material of split plans.
    The ``limit`` resources with the most free time are returned."""
    conds, params = constraints(request)
    params.update(category_ids=category_ids(request, using), limit=limit)
    where = " AND ".join(f"({sql})" for _key, sql in conds)
    sql = f"""
    WITH cand AS MATERIALIZED (
        SELECT {_COLUMNS.format(horizon="%(due)s::timestamptz")}
        FROM capacity_resource r JOIN capacity_providerprofile p ON p.organisation_id = r.provider_id
        WHERE r.category_id = ANY(%(category_ids)s) AND {where}
    )
    SELECT c.*, t.free_s, t.finish, NULL AS slot_starts, NULL AS slot_ends, 0.0::float8 AS booked_share
    FROM cand c CROSS JOIN LATERAL ({_timing("c")}) t
    WHERE t.free_s > 0
    ORDER BY t.free_s DESC, c.id
    LIMIT %(limit)s
    """
    return [_candidate(row) for row in _fetch(sql, params, using)]


def free_slots(candidate: Candidate, *, due: datetime, using: str = "default") -> list[tuple[datetime, datetime]]:
    """The candidate's free windows in ``[start_at, due)``, ordered (idle windows minus bookings)."""
    params = {"id": candidate.resource_id, "start": candidate.start_at, "due": max(due, candidate.start_at)}
    sql = f"""
    SELECT lower(w), upper(w) FROM (
        SELECT r.id, r.capacity, %(start)s::timestamptz AS start_at, %(due)s::timestamptz AS hz_end
        FROM capacity_resource r WHERE r.id = %(id)s
    ) c CROSS JOIN LATERAL unnest({_free_multirange("c")}) AS w
    ORDER BY 1
    """
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return [(lo, hi) for lo, hi in cursor.fetchall()]


@dataclass
class Funnel:
    """Survivors after each constraint (cumulative), the earliest finish ignoring the due date."""

    steps: list[tuple[str, int]]
    earliest_finish: datetime | None


# The earliest a resource could finish: its start plus the machine time, as if it were free from
# then on. Finish ≥ this bound; one second of slack absorbs the float seconds of make_interval.
_EARLIEST_POSSIBLE = (
    "%(now)s::timestamptz + make_interval(hours => r.lead_time_buffer_hours)"
    f" + make_interval(secs => ({_SETUP_MINUTES} + %(quantity)s * COALESCE(%(cycle)s::numeric,"
    " r.cycle_time_minutes)) * 60 - 1)"
)


def _finishes(request: MatchRequest, ids: list[int], using: str) -> dict[int, datetime | None]:
    """Finish moment of each resource in ``ids`` with no due date (free time up to infinity)."""
    params = {"quantity": request.quantity, "cycle": request.cycle_time_minutes, "now": request.now, "ids": ids}
    sql = f"""
    WITH c AS MATERIALIZED (
        SELECT {_COLUMNS.format(horizon="'infinity'::timestamptz")}
        FROM capacity_resource r LEFT JOIN capacity_providerprofile p ON p.organisation_id = r.provider_id
        WHERE r.id = ANY(%(ids)s)
    )
    SELECT c.id, t.finish FROM c CROSS JOIN LATERAL ({_timing("c", lean=True)}) t
    """
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def funnel(request: MatchRequest, *, using: str = "default", matches: int | None = None) -> Funnel:
    """Count the survivors after each constraint in one statement (``count(*) FILTER``).

    The earliest finish is searched in order of the earliest each resource could possibly finish
    (start + machine time), in growing batches, stopping as soon as that bound passes the best
    finish found: the same minimum as timing them all. ``matches``: the number that finish by the
    due date when the caller knows it (find_matches calls this only when there is none)."""
    conds, params = constraints(request)
    params["category_ids"] = category_ids(request, using)
    flags = ",\n".join(f"COALESCE(({sql}), false) AS k{i}" for i, (_key, sql) in enumerate(conds))
    all_ok = " AND ".join(f"k{i}" for i in range(len(conds))) or "true"
    counts = [
        f"count(*) FILTER (WHERE {' AND '.join(f'k{j}' for j in range(i + 1))}) AS n{i}" for i in range(len(conds))
    ]
    sql = f"""
    WITH base AS MATERIALIZED (
        SELECT r.id, {_EARLIEST_POSSIBLE} AS possible, {flags}
        FROM capacity_resource r LEFT JOIN capacity_providerprofile p ON p.organisation_id = r.provider_id
        WHERE r.category_id = ANY(%(category_ids)s)
    )
    SELECT count(*) AS n_base, {", ".join(counts)},
           array_agg(base.id ORDER BY base.possible, base.id) FILTER (WHERE {all_ok}) AS ok_ids,
           array_agg(base.possible ORDER BY base.possible, base.id) FILTER (WHERE {all_ok}) AS ok_possible
    FROM base
    """
    row = _fetch(sql, params, using)[0]
    ordered = list(zip(row["ok_ids"] or [], row["ok_possible"] or [], strict=True))
    finishes: dict[int, datetime | None] = {}
    earliest: datetime | None = None
    position, batch = 0, 32
    while position < len(ordered):
        chunk = [
            rid for rid, possible in ordered[position : position + batch] if earliest is None or possible < earliest
        ]
        if not chunk:
            break  # every later resource's bound is later still
        finishes.update(_finishes(request, chunk, using))
        found = [finishes[rid] for rid in chunk if finishes.get(rid) is not None]
        if found:
            earliest = min([*found, earliest] if earliest else found)
        position, batch = position + batch, batch * 2
    if matches is None:
        in_time = [rid for rid, possible in ordered if possible <= request.due and rid not in finishes]
        if in_time:
            finishes.update(_finishes(request, in_time, using))
        matches = sum(1 for f in finishes.values() if f is not None and f <= request.due)
    steps = [("category_base", row["n_base"])]
    steps += [(key, row[f"n{i}"]) for i, (key, _sql) in enumerate(conds)]
    steps.append(("time", matches))
    # Merge the optional kind check into the category step: both mean "in this category".
    merged: list[tuple[str, int]] = []
    for key, count in steps:
        key = "category" if key == "category_base" else key
        if merged and merged[-1][0] == key:
            merged[-1] = (key, count)
        else:
            merged.append((key, count))
    return Funnel(steps=merged, earliest_finish=earliest)


def _fetch(sql: str, params: dict[str, Any], using: str) -> list[dict[str, Any]]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        names = [col.name for col in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _candidate(row: dict[str, Any]) -> Candidate:
    envelope = (row["envelope_x_mm"], row["envelope_y_mm"], row["envelope_z_mm"])
    return Candidate(
        resource_id=row["id"],
        provider_id=row["provider_id"],
        name=row["name"],
        card=RateCard(
            billing_unit=row["billing_unit"],
            rate=row["rate"],
            setup_fee=row["setup_fee"],
            minimum_charge=row["minimum_charge"],
            currency=row["currency"],
            billing_increment_minutes=row["billing_increment_minutes"],
        ),
        capacity=row["capacity"],
        envelope=None if None in envelope else envelope,
        latitude=row["latitude"],
        longitude=row["longitude"],
        cycle_minutes=row["cycle_min"],
        setup_minutes=row["setup_min"],
        start_at=row["start_at"],
        free_seconds=row["free_s"] or Decimal(0),
        finish=row["finish"],
        # Slot bounds travel as epoch seconds: far cheaper to load than arrays of ranges.
        slots=[
            (datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC))
            for lo, hi in zip(row["slot_starts"] or [], row["slot_ends"] or [], strict=True)
        ],
        booked_share=float(row["booked_share"]),
    )
