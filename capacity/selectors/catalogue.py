"""Reads for the public catalogue: what buyers may see, filtered, searched and sorted in SQL.

Everything starts from ``Resource.objects.visible_to_buyers()`` (listed resources of verified
providers). Each filter is a queryset transformer so the list stays one query whatever the
page size; free time and the next free moment are computed by the database from idle windows
minus active bookings, never by loading resources into Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.postgres.search import TrigramWordSimilarity
from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    F,
    FloatField,
    Lookup,
    OuterRef,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import ASin, Cast, Cos, Greatest, Least, Power, Radians, Sin, Sqrt
from django.shortcuts import get_object_or_404

from capacity.models import Booking, Category, Certification, ProviderProfile, Resource, SpecAttribute
from capacity.reference import city_index, province_names
from capacity.selectors.availability import free_windows

EARTH_RADIUS_KM = 6371.0088
PAGE_SIZE = 24
TIMELINE_DAYS = 14
# The SQL below spells out the active booking statuses; keep it in step with the model.
assert tuple(Booking.ACTIVE) == ("held", "confirmed")


class ILike(Lookup):
    """``lhs ILIKE rhs`` — PostgreSQL's own case-insensitive LIKE, which the trigram GIN index
    on ``search_text`` serves (Django's ``icontains`` wraps both sides in UPPER() instead)."""

    lookup_name = "ilike"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# The earliest free moment at or after %(now)s. Free time is made of half-open intervals whose
# lower bounds are either the start of an idle window (clipped to now) or the end of a booking,
# so the answer is the smallest such candidate that lies in an idle window and is covered by
# fewer active bookings than the resource's parallel capacity.
NEXT_FREE_SQL = """
SELECT MIN(c.p) FROM (
    SELECT GREATEST(LOWER(w.span), %s) AS p
      FROM capacity_idlewindow w
     WHERE w.resource_id = capacity_resource.id AND w.span && tstzrange(%s, NULL)
    UNION ALL
    SELECT UPPER(b.span)
      FROM capacity_booking b
     WHERE b.resource_id = capacity_resource.id AND b.status IN ('held', 'confirmed')
       AND UPPER(b.span) > %s
) c
WHERE EXISTS (
        SELECT 1 FROM capacity_idlewindow w2
         WHERE w2.resource_id = capacity_resource.id AND w2.span @> c.p)
  AND (SELECT COUNT(*) FROM capacity_booking b2
        WHERE b2.resource_id = capacity_resource.id AND b2.status IN ('held', 'confirmed')
          AND b2.span @> c.p) < capacity_resource.capacity
"""

# Free hours in [%(start)s, %(end)s): the idle windows clipped to the range, minus the moments
# at which active bookings saturate the resource, summed over the resulting multirange
# (PostgreSQL 14+). With a capacity of 1 any booking saturates it, so that is simply the union of
# the bookings (most resources, and the cheap case); otherwise only where ``capacity`` bookings
# overlap, found by counting the bookings at each boundary between booking ends. This is
# evaluated for every candidate row when it filters, so the cheap case matters.
FREE_HOURS_SQL = """
SELECT COALESCE(SUM(EXTRACT(EPOCH FROM UPPER(f) - LOWER(f))), 0) / 3600.0
  FROM unnest(
    COALESCE((
        SELECT range_agg(w.span * tstzrange(%s, %s))
          FROM capacity_idlewindow w
         WHERE w.resource_id = capacity_resource.id AND w.span && tstzrange(%s, %s)
    ), '{}'::tstzmultirange)
    -
    CASE WHEN capacity_resource.capacity = 1 THEN COALESCE((
        SELECT range_agg(b.span)
          FROM capacity_booking b
         WHERE b.resource_id = capacity_resource.id AND b.status IN ('held', 'confirmed')
           AND b.span && tstzrange(%s, %s)
    ), '{}'::tstzmultirange)
    ELSE COALESCE((
        SELECT range_agg(tstzrange(seg.s, seg.e))
          FROM (
            SELECT pt.p AS s, LEAD(pt.p) OVER (ORDER BY pt.p) AS e
              FROM (
                SELECT LOWER(b.span) AS p FROM capacity_booking b
                 WHERE b.resource_id = capacity_resource.id AND b.status IN ('held', 'confirmed')
                   AND b.span && tstzrange(%s, %s)
                UNION
                SELECT UPPER(b.span) FROM capacity_booking b
                 WHERE b.resource_id = capacity_resource.id AND b.status IN ('held', 'confirmed')
                   AND b.span && tstzrange(%s, %s)
              ) pt
          ) seg
         WHERE seg.e IS NOT NULL
           AND (SELECT COUNT(*) FROM capacity_booking b3
                 WHERE b3.resource_id = capacity_resource.id AND b3.status IN ('held', 'confirmed')
                   AND b3.span @> seg.s) >= capacity_resource.capacity
    ), '{}'::tstzmultirange) END
  ) AS f
"""


def with_next_free(queryset: QuerySet, *, now: datetime) -> QuerySet:
    """Annotate ``next_free``: the earliest free moment from ``now`` (None when nothing is free)."""
    return queryset.annotate(
        next_free=RawSQL(  # noqa: S611 — constant SQL, bound parameters
            NEXT_FREE_SQL, (now, now, now), output_field=DateTimeField()
        )
    )


def catalogue_resources(*, now: datetime) -> QuerySet:
    """Visible resources with what a card shows, in one query."""
    queryset = Resource.objects.visible_to_buyers().select_related(
        "category", "category__parent", "measurand", "provider", "provider__provider_profile"
    )
    return with_next_free(queryset, now=now)


def in_category(queryset: QuerySet, *, code: str) -> QuerySet:
    """A minor code, or a major code meaning all of its minors."""
    return queryset.filter(Q(category__code=code) | Q(category__parent__code=code))


def with_material(queryset: QuerySet, *, code: str) -> QuerySet:
    through = Resource.materials.through
    return queryset.filter(Exists(through.objects.filter(resource_id=OuterRef("pk"), material__code=code)))


def fitting_part(queryset: QuerySet, *, dimensions: list[Decimal]) -> QuerySet:
    """Resources whose envelope takes a part of these dimensions in some orientation: the part's
    sorted sizes must each be within the envelope's sorted sizes (missing sizes count as 0)."""
    small, middle, large = sorted([*dimensions, Decimal(0), Decimal(0), Decimal(0)][:3])
    x, y, z = F("envelope_x_mm"), F("envelope_y_mm"), F("envelope_z_mm")
    envelope_min = Least(x, y, z)
    envelope_max = Greatest(x, y, z)
    output = DecimalField(max_digits=12, decimal_places=2)
    return (
        queryset.filter(envelope_x_mm__isnull=False, envelope_y_mm__isnull=False, envelope_z_mm__isnull=False)
        .alias(
            envelope_min=envelope_min,
            envelope_max=envelope_max,
            envelope_mid=Cast(x + y + z - envelope_min - envelope_max, output),
        )
        .filter(envelope_min__gte=small, envelope_mid__gte=middle, envelope_max__gte=large)
    )


def with_distance(queryset: QuerySet, *, lat: float, lon: float) -> QuerySet:
    """Annotate ``distance_km`` from the point to the provider's site (haversine, in SQL)."""
    lat1, lon1 = Radians(Value(float(lat))), Radians(Value(float(lon)))
    lat2 = Radians(Cast("provider__provider_profile__latitude", FloatField()))
    lon2 = Radians(Cast("provider__provider_profile__longitude", FloatField()))
    a = Power(Sin((lat2 - lat1) / 2), 2) + Cos(lat1) * Cos(lat2) * Power(Sin((lon2 - lon1) / 2), 2)
    distance = Value(2 * EARTH_RADIUS_KM) * ASin(Sqrt(Least(Value(1.0), a)))
    return queryset.annotate(distance_km=Cast(distance, FloatField()))


def within_radius(queryset: QuerySet, *, lat: float, lon: float, radius_km: float) -> QuerySet:
    return with_distance(queryset, lat=lat, lon=lon).filter(distance_km__lte=float(radius_km))


def with_valid_certificate(queryset: QuerySet, *, standard: str, day: date) -> QuerySet:
    valid = Certification.objects.filter(
        profile__organisation_id=OuterRef("provider_id"),
        standard=standard,
        valid_from__lte=day,
        valid_until__gte=day,
    )
    return queryset.filter(Exists(valid))


def free_for(queryset: QuerySet, *, start: datetime, end: datetime, hours: Decimal | float | None) -> QuerySet:
    """Resources with at least ``hours`` free in ``[start, end)`` (any free time when None);
    annotates ``free_hours``."""
    params = (start, end) * FREE_HOURS_SQL.count("tstzrange(%s, %s)")
    queryset = queryset.annotate(
        free_hours=RawSQL(  # noqa: S611 — constant SQL, bound parameters
            FREE_HOURS_SQL, params, output_field=FloatField()
        )
    )
    if hours:
        return queryset.filter(free_hours__gte=float(hours))
    return queryset.filter(free_hours__gt=0)


def matching(queryset: QuerySet, *, q: str) -> QuerySet:
    """Bilingual search over ``search_text``: every word must occur (ILIKE, served by the trigram
    index; works for Chinese, which has no spaces), best trigram word similarity first."""
    for term in q.split():
        queryset = queryset.filter(ILike(F("search_text"), Value(_like_pattern(term))))
    return queryset.annotate(relevance=TrigramWordSimilarity(Value(q), "search_text"))


SORTS = {
    "price": ["rate", "pk"],
    "soonest": [F("next_free").asc(nulls_last=True), "rate", "pk"],
    "distance": ["distance_km", "pk"],
    "newest": [F("listed_at").desc(nulls_last=True), "-pk"],
    "relevance": [F("relevance").desc(), "pk"],
}


def sorted_by(queryset: QuerySet, *, sort: str) -> QuerySet:
    return queryset.order_by(*SORTS[sort])


def catalogue_page(queryset: QuerySet, number, *, per_page: int = PAGE_SIZE) -> Page:
    """The page ``number`` of ``queryset`` as ``Paginator(queryset, per_page).get_page(number)``
    would give it (same rows, order and count; a page that is not a number is the first, one out
    of range the last), with the filters evaluated once rather than twice.

    The paginator would count the whole filtered set, then filter and sort it again for the page,
    and the filters are the expensive part (free hours over idle windows minus bookings, for every
    candidate). Here one query returns the page's ids with the total as ``COUNT(*) OVER ()``
    (the set filtered and sorted once, only ids selected), and a second loads those few rows with
    everything a card shows. A page past the end costs one more count and fetch."""
    paginator = Paginator(queryset, per_page)
    try:
        number = int(number)
    except (TypeError, ValueError):
        number = 1
    rows: list = []
    if number >= 1:
        rows = _page_ids(queryset, number, per_page)
        if rows:
            paginator.count = rows[0][1]
        elif number == 1:
            paginator.count = 0
    if not rows and number != 1:  # out of range: the last page, as get_page gives it
        paginator.count = queryset.count()
        number = paginator.num_pages
        rows = _page_ids(queryset, number, per_page)
    ids = [pk for pk, _total in rows]
    by_pk = queryset.filter(pk__in=ids).in_bulk() if ids else {}
    return Page([by_pk[pk] for pk in ids if pk in by_pk], number, paginator)


def _page_ids(queryset: QuerySet, number: int, per_page: int) -> list[tuple[int, int]]:
    offset = (number - 1) * per_page
    counted = queryset.annotate(total_count=Window(Count("pk"))).values_list("pk", "total_count")
    return list(counted[offset : offset + per_page])


# --- browse tree --------------------------------------------------------------------------


@dataclass
class Node:
    category: Category
    count: int = 0
    children: list[Node] = field(default_factory=list)


def category_tree(*, kind: str | None = None) -> list[tuple[str, str, list[Node]]]:
    """``[(kind, kind label, majors)]`` with the number of visible resources on every node.
    Two queries: the taxonomy, and one grouped count of visible resources per minor."""
    counts = dict(
        Resource.objects.visible_to_buyers()
        .order_by()
        .values("category_id")
        .annotate(n=Count("pk"))
        .values_list("category_id", "n")
    )
    categories = Category.objects.order_by("code")
    if kind:
        categories = categories.filter(kind=kind)
    majors: dict[int, Node] = {}
    minors: list[Node] = []
    for category in categories:
        node = Node(category, counts.get(category.pk, 0))
        if category.parent_id:
            minors.append(node)
        else:
            majors[category.pk] = node
    for node in minors:
        parent = majors.get(node.category.parent_id)
        if parent is not None:
            parent.children.append(node)
            parent.count += node.count
    result = []
    for value, label in Category.Kind.choices:
        if kind and value != kind:
            continue
        result.append((value, label, [m for m in majors.values() if m.category.kind == value]))
    return result


# --- one resource ---------------------------------------------------------------------------


def visible_resource(*, pk: int) -> Resource:
    """A resource buyers may see, or 404 (draft, pending, paused, retired, unverified provider)."""
    queryset = Resource.objects.visible_to_buyers().select_related(
        "category", "category__parent", "measurand", "provider", "provider__provider_profile"
    )
    return get_object_or_404(queryset.prefetch_related("materials", "photos"), pk=pk)


@dataclass(frozen=True)
class Spec:
    key: str
    label: str
    value: str
    unit: str

    @property
    def display(self) -> str:
        """Value with its unit: '800 mm', '± 0.01 mm' (a '±' unit goes in front)."""
        if self.unit.startswith("±"):
            return f"± {self.value} {self.unit[1:].strip()}".strip()
        return f"{self.value} {self.unit}".strip()


def _display(value) -> str:
    if isinstance(value, Decimal):
        text = f"{value.normalize():f}"
        return text
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def resource_specs(resource: Resource) -> list[Spec]:
    """The resource's specs in the category's order, labelled in the active language: typed
    columns and ``extra_specs`` alike. Empty values and keys without a SpecAttribute are left out."""
    keys = list(resource.category.attributes or [])
    keys += [k for k in (resource.extra_specs or {}) if k not in keys]
    attributes = SpecAttribute.objects.in_bulk(keys, field_name="key")
    specs = []
    for key in keys:
        attribute = attributes.get(key)
        if attribute is not None and attribute.typed:
            if key == "materials":
                value = ", ".join(m.name for m in resource.materials.all())
            elif key == "measurand":
                value = resource.measurand.name if resource.measurand else ""
            else:
                raw = getattr(resource, key, None)
                value = "" if raw in (None, "", []) else _display(raw)
        else:
            raw = (resource.extra_specs or {}).get(key)
            value = "" if raw in (None, "", []) else _display(raw)
        if not value or attribute is None:
            continue  # only specs the platform defines are shown, with their labels
        label, unit = attribute.label, attribute.unit
        if key in ("range_min", "range_max") and resource.range_unit:
            unit = resource.range_unit
        if key == "range_unit":
            continue
        specs.append(Spec(key=key, label=label, value=value, unit=unit))
    return specs


@dataclass(frozen=True)
class TimelineDay:
    day: date
    segments: list[tuple[int, int]]  # minutes from local midnight, half-open

    @property
    def free_minutes(self) -> int:
        return sum(e - s for s, e in self.segments)

    @property
    def bars(self) -> list[tuple[int, int]]:
        """(x, width) in minutes, for the picture."""
        return [(s, e - s) for s, e in self.segments]


def free_timeline(resource: Resource, *, now: datetime, days: int = TIMELINE_DAYS):
    """The free windows of the next ``days`` days in the provider's time zone: per local day
    the free segments (for the picture) and the whole windows (for the text list)."""
    tz = ZoneInfo(resource.provider.time_zone or "Asia/Shanghai")
    local_now = now.astimezone(tz)
    end = datetime.combine(local_now.date() + timedelta(days=days), datetime.min.time(), tzinfo=tz)
    windows = [(s.astimezone(tz), e.astimezone(tz)) for s, e in free_windows(resource, now, end)]
    timeline = []
    for offset in range(days):
        day = local_now.date() + timedelta(days=offset)
        day_start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        segments = []
        for s, e in windows:
            lo, hi = max(s, day_start), min(e, day_end)
            if hi > lo:
                segments.append(
                    (int((lo - day_start).total_seconds() // 60), int((hi - day_start).total_seconds() // 60))
                )
        timeline.append(TimelineDay(day=day, segments=segments))
    return timeline, windows, tz


# --- providers ------------------------------------------------------------------------------


def public_provider(*, slug: str) -> ProviderProfile:
    """A verified provider's profile by its organisation's slug, or 404."""
    return get_object_or_404(
        ProviderProfile.objects.select_related("organisation"),
        organisation__slug=slug,
        status=ProviderProfile.Status.VERIFIED,
    )


def valid_certificates(*, organisation_id: int, day: date) -> QuerySet:
    return Certification.objects.filter(
        profile__organisation_id=organisation_id, valid_from__lte=day, valid_until__gte=day
    ).order_by("standard", "-valid_until")


def region_label(province: str, city: str, *, english: bool) -> str:
    """'江苏省 苏州市' / 'Suzhou, Jiangsu' from the reference codes ('' when unknown)."""
    names = province_names().get(province)
    if not names:
        return ""
    city_row = city_index().get((province, city))
    if english:
        return f"{city_row['name_en']}, {names[1]}" if city_row else names[1]
    return f"{names[0]} {city_row['name_zh']}" if city_row else names[0]
