"""Demo capacity market: providers, their certificates, machines, idle patterns and bookings.

``seed_capacity`` is a seed_demo step. Everything is planned first from a fixed-seed
``random.Random`` (so the same providers, names, codes and machines come out every time), then
only what is missing is written: organisations by slug, profiles by organisation, resources by
(provider, name). A second run therefore finds everything in place and writes nothing.
"""

# ruff: noqa: C408 — dict(...) keeps the planned rows readable
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from capacity.demo.catalogue import ARCHETYPES, MACHINES_BY_KEY, Machine
from capacity.demo.companies import (
    AS9100_ISSUERS,
    CNAS,
    DEMO_PROVIDERS,
    EXCHANGE,
    EXPIRED_ISO9001,
    FOREIGN,
    GENERATED,
    GIVEN,
    IATF_ISSUERS,
    ISO9001_ISSUERS,
    LOCATIONS,
    MAINTENANCE_NOTES,
    NOT_VERIFIED,
    ROADS,
    STATUS_REASONS,
    SURNAMES,
)
from capacity.models import (
    AvailabilityException,
    AvailabilityRule,
    Booking,
    Category,
    Certification,
    IdleWindow,
    Material,
    Measurand,
    ProviderProfile,
    Resource,
)
from capacity.reference import city_index, read
from capacity.search import build_search_text
from capacity.services.availability import HORIZON, merge_intervals, pattern_intervals, subtract_intervals
from capacity.validators import CREDIT_CODE_ALPHABET, credit_code_check_character
from marketplace.demo import DEMO_PASSWORD, OPERATOR_EMAIL
from marketplace.models import Membership, Organisation, User

SEED = 20260101
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Typed Resource columns a machine's specs may fill; every other spec key is an extra attribute.
TYPED_COLUMNS = {
    "envelope_x_mm",
    "envelope_y_mm",
    "envelope_z_mm",
    "max_part_weight_kg",
    "tolerance_mm",
    "surface_finish_ra_um",
    "axes",
    "spindle_speed_rpm",
    "max_force_kn",
    "temperature_min_c",
    "temperature_max_c",
}
INTEGER_COLUMNS = {"axes", "spindle_speed_rpm"}


@dataclass
class ProviderPlan:
    slug: str
    name: str
    archetype: str
    location: str
    status: str
    currency: str
    profile: dict
    certs: list[dict]
    owner_email: str | None
    owner_name: str
    machines: list[str]
    accreditation: str = ""
    resources: list[dict] = field(default_factory=list)


# ------------------------------------------------------------------------------- planning


def organisation_code(rng: random.Random) -> str:
    """Nine characters of a GB 11714 organisation code: eight body characters and their check
    character (weights 3, 7, 9, 10, 5, 8, 4, 2; mod 11; 10 is written X)."""
    if rng.random() < 0.55:
        # Codes issued since 2015 start with MA.
        body = "MA" + "".join(rng.choice(CREDIT_CODE_ALPHABET[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    value = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
    total = sum(value[c] * w for c, w in zip(body, [3, 7, 9, 10, 5, 8, 4, 2], strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def credit_code(rng: random.Random, division: str) -> str:
    """A valid unified social credit code of a company (9 = market regulator, 1 = enterprise)."""
    first17 = "91" + division + organisation_code(rng)
    return first17 + credit_code_check_character(first17)


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _phone(rng: random.Random, area: str) -> str:
    if rng.random() < 0.5:
        return f"1{rng.choice('3589')}{rng.randint(0, 9)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
    return f"{area}-{rng.randint(2, 8)}{rng.randint(1000000, 9999999)}"


def _certificates(
    rng: random.Random, standards: list[str], today: date, *, expired: bool, lab_scope: str
) -> tuple[list[dict], str]:
    certs, accreditation = [], ""
    for standard in standards:
        if standard == "ISO17025":
            number = f"CNAS L{rng.randint(1000, 19999)}"
            accreditation = number
            start = today - timedelta(days=rng.randint(200, 1500))
            certs.append(
                dict(
                    standard=standard,
                    number=number,
                    issuer=CNAS,
                    scope=lab_scope,
                    valid_from=start,
                    valid_until=start + timedelta(days=6 * 365 - 1),
                )
            )
            continue
        start = today - timedelta(days=rng.randint(60, 1000))
        if standard == "ISO9001" and expired:
            start = today - timedelta(days=3 * 365 + rng.randint(15, 45))
        yy = start.year % 100
        if standard == "ISO9001":
            issuer, style = rng.choice(ISO9001_ISSUERS)
            number = {
                "cqc": f"001{yy:02d}Q3{rng.randint(1000, 9999)}R{rng.randint(1, 3)}M",
                "sgs": f"CN{yy:02d}/{rng.randint(10000, 99999)}",
                "bv": f"CHN{yy:02d}{rng.randint(100000, 999999)}",
                "tuv": f"12 100 {rng.randint(10000, 99999)} TMS",
                "cqm": f"00{yy:02d}{rng.randint(10, 99)}Q{rng.randint(10000, 99999)}R{rng.randint(0, 2)}M",
            }[style]
            scope = "机械零部件的加工与销售"
        elif standard == "IATF16949":
            issuer, number = rng.choice(IATF_ISSUERS), f"IATF 0{rng.randint(400000, 499999)}"
            scope = "汽车零部件的制造"
        elif standard == "AS9100":
            issuer, number = rng.choice(AS9100_ISSUERS), f"CN{yy:02d}/AS{rng.randint(1000, 9999)}"
            scope = "航空零部件的数控加工"
        elif standard == "ISO13485":
            issuer, number = "TÜV 南德意志集团", f"Q5 {rng.randint(100000, 999999)} 0001"
            scope = "医疗器械塑料零部件的注塑成型"
        else:  # ISO 14001
            issuer, number = "中国质量认证中心（CQC）", f"001{yy:02d}E3{rng.randint(1000, 9999)}R{rng.randint(0, 2)}M"
            scope = "相关生产活动的环境管理"
        certs.append(
            dict(
                standard=standard,
                number=number,
                issuer=issuer,
                scope=scope,
                valid_from=start,
                valid_until=start + timedelta(days=3 * 365 - 1),
            )
        )
    return certs, accreditation


def _description(rng: random.Random, archetype: str, machines: list[str]) -> str:
    a = ARCHETYPES[archetype]
    founded = rng.randint(1996, 2019)
    staff = rng.choice([35, 48, 60, 85, 120, 150, 220, 300])
    area = rng.choice([2500, 4000, 6000, 8000, 12000, 20000])
    makes = []
    for key in machines:
        make = MACHINES_BY_KEY[key].make.split(" ")[0]
        if make and make not in makes:
            makes.append(make)
    if a.lab:
        return (
            f"成立于{founded}年，实验室面积约{area:,}平方米，技术人员{staff // 3}余人。"
            f"拥有{'、'.join(makes[:4])}等检测与校准设备，服务{a.industries}等行业客户；"
            "获 CNAS 认可，可出具带 CNAS 标识的报告与证书，常规项目 3–5 个工作日出报告，支持加急。"
        )
    return (
        f"成立于{founded}年，厂房面积约{area:,}平方米，员工{staff}余人。"
        f"主要设备包括{'、'.join(makes[:4])}等，服务{a.industries}等行业。"
        "推行精益生产与 MES 管理，夜班与周末空闲机时通过 Spindle 对外开放，可接急单与小批量订单。"
    )


def _lab_scope(archetype: str) -> str:
    return {
        "lab": "金属与非金属材料力学性能、化学成分、金相及无损检测",
        "reliability": "电工电子产品环境试验、可靠性试验",
        "emc": "电磁兼容与电气安全检测",
        "metrology": "几何量、力学、热学与电学计量器具的校准",
    }.get(archetype, "检测与校准")


def plan_providers(rng: random.Random, today: date, now: datetime) -> list[ProviderPlan]:
    plans: list[ProviderPlan] = []
    used_codes: set[str] = set()

    def unique_code(division: str) -> str:
        while True:
            code = credit_code(rng, division)
            if code not in used_codes:
                used_codes.add(code)
                return code

    def profile_fields(slug: str, legal_name: str, location: str, status: str, archetype: str, machines):
        province, city, _place, _py, division, admin, area, parks = LOCATIONS[location]
        centre = city_index()[(province, city)]
        contact = _person(rng)
        profile = dict(
            legal_name=legal_name,
            credit_code=unique_code(division),
            province=province,
            city=city,
            address=f"{admin}{rng.choice(parks)}{rng.choice(ROADS)}{rng.randint(1, 999)}号",
            latitude=Decimal(str(centre["lat"] + rng.uniform(-0.06, 0.06))).quantize(Decimal("0.000001")),
            longitude=Decimal(str(centre["lon"] + rng.uniform(-0.06, 0.06))).quantize(Decimal("0.000001")),
            contact_name=contact,
            contact_phone=_phone(rng, area),
            contact_email=f"sales@{slug}.example.com",
            website=f"https://www.{slug}.example.com",
            description=_description(rng, archetype, list(machines)),
            status=status,
            status_reason=STATUS_REASONS.get(status, ""),
            submitted_at=now - timedelta(days=rng.randint(20, 400)),
        )
        if status != ProviderProfile.Status.PENDING:
            profile["reviewed_at"] = profile["submitted_at"] + timedelta(days=rng.randint(1, 4))
        if status == ProviderProfile.Status.PENDING:
            profile["submitted_at"] = now - timedelta(days=rng.randint(1, 6))
        return profile, contact

    for slug, spec in DEMO_PROVIDERS.items():
        machines = list(spec["machines"])
        profile, contact = profile_fields(
            slug, spec["legal_name"], spec["location"], ProviderProfile.Status.VERIFIED, spec["archetype"], machines
        )
        certs, accreditation = _certificates(
            rng, list(spec["certs"]), today, expired=False, lab_scope=_lab_scope(spec["archetype"])
        )
        plans.append(
            ProviderPlan(
                slug=slug,
                name=spec["legal_name"],
                archetype=spec["archetype"],
                location=spec["location"],
                status=ProviderProfile.Status.VERIFIED,
                currency="CNY",
                profile=profile,
                certs=certs,
                owner_email=None,
                owner_name=contact,
                machines=machines,
                accreditation=accreditation,
            )
        )

    for number, (location, archetype_key, trade, trade_py) in enumerate(GENERATED, start=1):
        archetype = ARCHETYPES[archetype_key]
        place, pinyin = LOCATIONS[location][2], LOCATIONS[location][3]
        slug = f"{pinyin}-{trade_py}"
        word = rng.choice(archetype.words)
        currency = FOREIGN.get(slug, "CNY")
        legal_name = f"{trade}{word}（{place}）有限公司" if slug in FOREIGN else f"{place}{trade}{word}有限公司"
        status = NOT_VERIFIED.get(slug, ProviderProfile.Status.VERIFIED)
        keys, weights = zip(*archetype.machines, strict=True)
        machines = [rng.choices(keys, weights)[0] for _ in range(rng.randint(*archetype.size))]
        profile, contact = profile_fields(slug, legal_name, location, status, archetype_key, machines)
        standards = []
        if archetype.lab:
            standards.append("ISO17025")
            if rng.random() < 0.5:
                standards.append("ISO9001")
        elif rng.random() < 0.9 or slug in EXPIRED_ISO9001:
            standards.append("ISO9001")
        standards += list(archetype.certs)
        if archetype_key == "mould" and rng.random() < 0.35:
            standards.append("ISO13485")
        if not archetype.lab and rng.random() < 0.25 and "ISO14001" not in standards:
            standards.append("ISO14001")
        certs, accreditation = _certificates(
            rng, standards, today, expired=slug in EXPIRED_ISO9001, lab_scope=_lab_scope(archetype_key)
        )
        plans.append(
            ProviderPlan(
                slug=slug,
                name=legal_name,
                archetype=archetype_key,
                location=location,
                status=status,
                currency=currency,
                profile=profile,
                certs=certs,
                owner_email=f"p{number:02d}@spindle.demo",
                owner_name=contact,
                machines=machines,
                accreditation=accreditation,
            )
        )
    return plans


def _money(value: float | Decimal, currency: str) -> Decimal:
    """Round a CNY amount to a price a shop would quote, in its currency."""
    amount = Decimal(str(value)) / EXCHANGE[currency]
    step = Decimal("1") if amount < 20 else Decimal("5")
    return ((amount / step).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * step).quantize(Decimal("0.01"))


def _resource_status(rng: random.Random, provider_status: str) -> str:
    if provider_status == ProviderProfile.Status.PENDING:
        return rng.choice([Resource.Status.PENDING_REVIEW, Resource.Status.LISTED, Resource.Status.DRAFT])
    roll = rng.random()
    if roll < 0.84:
        return Resource.Status.LISTED
    if roll < 0.90:
        return Resource.Status.PENDING_REVIEW
    if roll < 0.95:
        return Resource.Status.PAUSED
    return Resource.Status.DRAFT


def plan_resources(rng: random.Random, plan: ProviderPlan, categories: dict, now: datetime) -> None:
    """Fill ``plan.resources`` with one dict per machine: Resource fields, materials, pattern,
    exceptions."""
    seen: dict[str, int] = {}
    for key in plan.machines:
        machine = MACHINES_BY_KEY[key]
        category = categories[machine.category]
        base = (
            f"{machine.make} {machine.model} {machine.label}".strip()
            if machine.make
            else (f"{machine.label}（{machine.model}）")
        )
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}（{seen[base]}号机）"
        fields, extra = {}, {}
        for spec, value in machine.specs.items():
            if spec not in category.attributes:
                continue
            if spec in TYPED_COLUMNS:
                fields[spec] = int(value) if spec in INTEGER_COLUMNS else Decimal(str(value))
            else:
                extra[spec] = value
        if machine.range and "range_min" in category.attributes:
            fields["range_min"] = Decimal(str(machine.range[0]))
            fields["range_max"] = Decimal(str(machine.range[1]))
            fields["range_unit"] = machine.range[2]
        if machine.uncertainty and "uncertainty" in category.attributes:
            fields["uncertainty"] = machine.uncertainty
        if plan.accreditation and "accreditation_ref" in category.attributes:
            fields["accreditation_ref"] = plan.accreditation
        standards = []
        if "standards" in category.attributes and category.typical_standards:
            count = min(len(category.typical_standards), rng.randint(1, 3))
            standards = sorted(rng.sample(category.typical_standards, count), key=category.typical_standards.index)
        materials = []
        if "materials" in category.attributes and machine.materials:
            choices = list(dict.fromkeys(machine.materials))  # the family tuples overlap
            materials = sorted(rng.sample(choices, min(len(choices), rng.randint(3, 6))))
        currency = plan.currency
        rate = rng.uniform(*machine.rate)
        style = _pattern_style(machine, category)
        blocks, pattern_text = _weekly_pattern(rng, style)
        year = rng.randint(2012, min(2025, now.year))
        status = _resource_status(rng, plan.status)
        plan.resources.append(
            dict(
                key=key,
                category=category,
                fields=dict(
                    name=name,
                    make=machine.make,
                    model_name=machine.model,
                    year=year,
                    description=f"{machine.desc}空闲时段：{pattern_text}。",
                    status=status,
                    standards=standards,
                    measurand_code=category.measurand if "measurand" in category.attributes else "",
                    extra_specs=extra,
                    billing_unit=machine.unit,
                    rate=_money(rate, currency),
                    setup_fee=_money(rng.uniform(*machine.setup), currency) if machine.setup[1] else Decimal("0.00"),
                    minimum_charge=_money(machine.minimum, currency),
                    currency=currency,
                    billing_increment_minutes=machine.increment,
                    cycle_time_minutes=(
                        Decimal(str(round(rng.uniform(*machine.cycle), 1))).max(Decimal("0.1"))
                        if machine.cycle
                        else None
                    ),
                    lead_time_buffer_hours=machine.buffer,
                    capacity=machine.capacity,
                    listed_at=now - timedelta(days=rng.randint(3, 300)) if status == Resource.Status.LISTED else None,
                    **fields,
                ),
                materials=materials,
                blocks=blocks,
                exceptions=_exceptions(rng, style, now),
            )
        )


# ------------------------------------------------------------------------------- availability


def _pattern_style(machine: Machine, category: Category) -> str:
    if machine.capacity > 1:
        return "chamber"
    if category.kind != Category.Kind.PRODUCTION:
        return "lab"
    return "production"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


WEEKDAY_ZH = "一二三四五六日"


def _weekly_pattern(rng: random.Random, style: str) -> tuple[list[tuple[int, int, int]], str]:
    """Blocks (weekday, start_minute, end_minute) that look like a real shop's idle time, and
    how the shop would describe them."""
    if style == "lab":
        blocks = [(d, 510, 1050) for d in range(5)]
        if rng.random() < 0.3:
            blocks.append((5, 540, 720))
            return blocks, "工作日 08:30–17:30，周六 09:00–12:00"
        return blocks, "工作日 08:30–17:30"
    if style == "chamber":
        if rng.random() < 0.5:
            # Free from Monday morning until Wednesday evening, then busy with long-running tests.
            return [(0, 540, 1440), (1, 0, 1440), (2, 0, 1080)], "每周一 09:00 至周三 18:00 可装样"
        return [(4, 1080, 1440), (5, 0, 1440), (6, 0, 1440), (0, 0, 540)], "周五 18:00 至周一 09:00（周末连续试验）"
    kind = rng.choices(["nights_weekends", "weekends", "nights", "afternoons", "second_shift"], [5, 2, 2, 2, 1])[0]
    if kind == "nights_weekends":
        start = rng.choice([19, 20, 21]) * 60
        blocks = [(d, start, 1440) for d in range(5)] + [(d, 0, 480) for d in range(1, 5)]
        blocks += [(5, 0, 1440), (6, 0, 1440), (0, 0, 480)]
        return blocks, f"工作日夜班 {_hhmm(start)}–次日 08:00，周末全天"
    if kind == "weekends":
        return [(5, 0, 1440), (6, 0, 1440)], "周六、周日全天"
    if kind == "nights":
        start, end = rng.choice([(22 * 60, 360), (20 * 60, 480)])
        blocks = [(d, start, 1440) for d in range(5)] + [(d, 0, end) for d in range(1, 6)]
        return blocks, f"工作日夜间 {_hhmm(start)}–次日 {_hhmm(end)}"
    if kind == "afternoons":
        days = sorted(rng.sample(range(5), rng.randint(2, 3)))
        blocks = [(d, 810, 1050) for d in days] + [(5, 480, 1020)]
        names = "、".join(WEEKDAY_ZH[d] for d in days)
        return blocks, f"每周{names}下午 13:30–17:30，周六 08:00–17:00"
    return [(d, 960, 1440) for d in range(5)], "工作日中班 16:00–24:00"


def _holidays(first: date, last: date) -> list[tuple[date, date, str]]:
    """Public holidays (inclusive dates) in ``[first, last]``: the fixed-date ones every year,
    Spring Festival where the State Council's dates are known."""
    found = []
    for year in range(first.year, last.year + 1):
        candidates = [
            (date(year, 1, 1), date(year, 1, 1), "元旦放假"),
            (date(year, 5, 1), date(year, 5, 5), "劳动节放假"),
            (date(year, 10, 1), date(year, 10, 7), "国庆节放假"),
        ]
        if year == 2026:
            candidates.append((date(2026, 2, 15), date(2026, 2, 23), "春节放假"))
        found += [(s, e, note) for s, e, note in candidates if e >= first and s <= last]
    return found


def _local(day: date, minute: int = 0) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI) + timedelta(minutes=minute)


def _exceptions(rng: random.Random, style: str, now: datetime) -> list[tuple[str, datetime, datetime, str]]:
    today = timezone.localtime(now, SHANGHAI).date()
    exceptions = []
    closes_on_holidays = style != "production" or rng.random() < 0.7
    if closes_on_holidays:
        for start, end, note in _holidays(today, today + timedelta(weeks=13)):
            exceptions.append(("blackout", _local(start), _local(end + timedelta(days=1)), note))
    if rng.random() < 0.3:
        day = today + timedelta(days=rng.randint(10, 75))
        length = rng.choice([1, 1, 2])
        exceptions.append(
            ("blackout", _local(day), _local(day + timedelta(days=length)), rng.choice(MAINTENANCE_NOTES))
        )
    if style == "production" and rng.random() < 0.3:
        first_saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
        for week in sorted(rng.sample(range(1, 7), rng.randint(1, 2))):
            saturday = first_saturday + timedelta(weeks=week)
            exceptions.append(("extra", _local(saturday, 480), _local(saturday, 1020), "周六加开空档"))
    return exceptions


# ------------------------------------------------------------------------------- writing


def _ensure_owners(plans: list[ProviderPlan], organisations: dict[str, Organisation]) -> None:
    """Owners of the generated providers (verified e-mail, demo password), in bulk: hashing the
    password once keeps this fast."""
    wanted = {p.owner_email: p for p in plans if p.owner_email}
    existing = {u.email: u for u in User.objects.filter(email__in=wanted)}
    missing = [e for e in wanted if e not in existing]
    if missing:
        password = make_password(DEMO_PASSWORD)
        User.objects.bulk_create([User(email=e, full_name=wanted[e].owner_name, password=password) for e in missing])
        existing = {u.email: u for u in User.objects.filter(email__in=wanted)}
    verified = set(EmailAddress.objects.filter(email__in=wanted).values_list("email", flat=True))
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=existing[e], email=e, verified=True, primary=True) for e in wanted if e not in verified]
    )
    members = set(Membership.objects.filter(user__email__in=wanted).values_list("user__email", "organisation__slug"))
    Membership.objects.bulk_create(
        [
            Membership(user=existing[e], organisation=organisations[p.slug], role=Membership.Role.OWNER)
            for e, p in wanted.items()
            if (e, p.slug) not in members
        ]
    )


def _merge_blocks(blocks: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Overlapping or touching blocks of one weekday become one (as ``set_weekly_pattern`` does)."""
    merged: list[tuple[int, int, int]] = []
    for weekday in range(7):
        for start, end in sorted((s, e) for d, s, e in blocks if d == weekday):
            if merged and merged[-1][0] == weekday and start <= merged[-1][2]:
                merged[-1] = (weekday, merged[-1][1], max(merged[-1][2], end))
            else:
                merged.append((weekday, start, end))
    return merged


def _materialise(todo: list[tuple[Resource, dict]], now: datetime) -> None:
    """Weekly rules and idle windows ``[now, now + HORIZON)`` for brand-new resources, in bulk.

    This is what ``set_weekly_pattern`` + ``materialise_idle_windows`` store for a resource
    that has no windows yet, computed with the same interval functions; doing it per resource
    costs a dozen queries each, which for hundreds of resources is most of the seed's time.
    """
    end = now + HORIZON
    rules, windows = [], []
    for resource, item in todo:
        tz = ZoneInfo(resource.provider.time_zone)
        merged = _merge_blocks(item["blocks"])
        rules += [AvailabilityRule(resource=resource, weekday=d, start_minute=s, end_minute=e) for d, s, e in merged]
        local_first = now.astimezone(tz).date() - timedelta(days=1)
        local_last = end.astimezone(tz).date() + timedelta(days=1)
        intervals = pattern_intervals(merged, tz, local_first, local_last)
        extra = [(s, e) for kind, s, e, _note in item["exceptions"] if kind == AvailabilityException.Kind.EXTRA]
        blackout = [(s, e) for kind, s, e, _note in item["exceptions"] if kind == AvailabilityException.Kind.BLACKOUT]
        for s, e in subtract_intervals(merge_intervals(intervals + extra), blackout):
            if e > now and s < end:
                windows.append(IdleWindow(resource=resource, span=DateTimeTZRange(max(s, now), min(e, end), "[)")))
    AvailabilityRule.objects.bulk_create(rules, batch_size=2000)
    IdleWindow.objects.bulk_create(windows, batch_size=2000)


def _book(rng: random.Random, resources: list[Resource], now: datetime) -> list[Booking]:
    """Confirmed bookings on about half of the bookable resources in the coming two weeks, each
    inside one idle window, so free time differs from idle time."""
    horizon = now + timedelta(days=14)
    by_resource: dict[int, list[tuple[datetime, datetime]]] = {}
    for resource_id, span in IdleWindow.objects.filter(
        resource__in=resources, span__overlap=(now, horizon)
    ).values_list("resource_id", "span"):
        lower, upper = span.lower, min(span.upper, horizon)
        if lower >= now + timedelta(hours=1) and upper - lower >= timedelta(hours=2):
            by_resource.setdefault(resource_id, []).append((lower, upper))
    bookings = []
    for resource in resources:
        windows = sorted(by_resource.get(resource.pk, []))
        if not windows or rng.random() < 0.5:
            continue
        for lower, upper in sorted(rng.sample(windows, min(len(windows), rng.randint(1, 3)))):
            half_hours = int((upper - lower).total_seconds() // 1800)
            length = rng.randint(4, min(half_hours, 20))  # 2 to 10 hours
            offset = rng.randint(0, half_hours - length)
            start = lower + timedelta(minutes=30 * offset)
            bookings.append(
                Booking(
                    resource=resource,
                    span=DateTimeTZRange(start, start + timedelta(minutes=30 * length), "[)"),
                    status=Booking.Status.CONFIRMED,
                    exclusive=resource.capacity == 1,
                )
            )
    return Booking.objects.bulk_create(bookings)


def seed_capacity(*, stdout=None, now: datetime | None = None) -> None:
    """Providers with verified profiles and certificates, ≥ 300 resources across production,
    testing and metrology, weekly idle patterns with exceptions, and some confirmed bookings.

    ``now`` (default: the current time) anchors certificates, idle windows and bookings.
    """
    now = now or timezone.now()
    today = timezone.localtime(now, SHANGHAI).date()
    rng = random.Random(SEED)
    categories = {c.code: c for c in Category.objects.filter(parent__isnull=False).select_related("parent")}
    typical = {row["code"]: row.get("typical_standards", []) for row in read("taxonomy")["categories"]}
    for code, category in categories.items():
        category.typical_standards = typical.get(code, [])
    measurands = {m.code: m for m in Measurand.objects.all()}
    operator = User.objects.filter(email=OPERATOR_EMAIL).first()

    plans = plan_providers(rng, today, now)
    for plan in plans:
        plan_resources(rng, plan, categories, now)

    # Organisations: the demo providers exist already (seed_people); generated ones by slug.
    organisations = {o.slug: o for o in Organisation.objects.filter(slug__in=[p.slug for p in plans])}
    Organisation.objects.bulk_create(
        [
            Organisation(slug=p.slug, name=p.name, kind=Organisation.Kind.PROVIDER, currency=p.currency)
            for p in plans
            if p.slug not in organisations and p.owner_email
        ]
    )
    organisations = {o.slug: o for o in Organisation.objects.filter(slug__in=[p.slug for p in plans])}
    plans = [p for p in plans if p.slug in organisations]
    _ensure_owners(plans, organisations)

    # Profiles and their certificates, once per organisation.
    with_profile = set(
        ProviderProfile.objects.filter(organisation__in=organisations.values()).values_list(
            "organisation__slug", flat=True
        )
    )
    new_profiles = [
        ProviderProfile(
            organisation=organisations[p.slug],
            reviewed_by=operator if p.status != ProviderProfile.Status.PENDING else None,
            **p.profile,
        )
        for p in plans
        if p.slug not in with_profile
    ]
    ProviderProfile.objects.bulk_create(new_profiles)
    Certification.objects.bulk_create(
        [
            Certification(profile=profile, **cert)
            for profile, plan in zip(new_profiles, [p for p in plans if p.slug not in with_profile], strict=True)
            for cert in plan.certs
        ]
    )
    profiles = {
        pp.organisation_id: pp for pp in ProviderProfile.objects.filter(organisation__in=organisations.values())
    }

    # Resources, by (provider, name).
    existing = set(Resource.objects.filter(provider__in=organisations.values()).values_list("provider__slug", "name"))
    todo = []
    for plan in plans:
        organisation = organisations[plan.slug]
        organisation.provider_profile = profiles[organisation.pk]
        for item in plan.resources:
            if (plan.slug, item["fields"]["name"]) in existing:
                continue
            fields = dict(item["fields"])
            measurand = measurands.get(fields.pop("measurand_code")) or None
            resource = Resource(
                provider=organisation,
                category=item["category"],
                kind=item["category"].kind,
                measurand=measurand,
                **fields,
            )
            todo.append((resource, item))
    Resource.objects.bulk_create([r for r, _ in todo])
    materials = {m.code: m for m in Material.objects.all()}
    Resource.materials.through.objects.bulk_create(
        [
            Resource.materials.through(resource_id=r.pk, material_id=materials[code].pk)
            for r, item in todo
            for code in item["materials"]
        ]
    )
    AvailabilityException.objects.bulk_create(
        [
            AvailabilityException(resource=r, kind=kind, span=DateTimeTZRange(start, end, "[)"), note=note)
            for r, item in todo
            for kind, start, end, note in item["exceptions"]
        ]
    )
    _materialise(todo, now)
    # Search text from the freshly created rows, materials prefetched: one query, one update.
    fresh = {r.pk: r for r, _ in todo}
    for resource in Resource.objects.filter(pk__in=fresh).prefetch_related("materials"):
        original = fresh[resource.pk]
        original._prefetched_objects_cache = resource._prefetched_objects_cache
        original.search_text = build_search_text(original)
    Resource.objects.bulk_update(list(fresh.values()), ["search_text"], batch_size=500)
    bookable = [
        r
        for r, _ in todo
        if r.status == Resource.Status.LISTED and profiles[r.provider_id].status == ProviderProfile.Status.VERIFIED
    ]
    bookings = _book(rng, bookable, now)

    if stdout is not None:
        providers = ProviderProfile.objects.filter(organisation__in=organisations.values())
        resources = Resource.objects.filter(provider__in=organisations.values())
        generated = [p.owner_email for p in plans if p.owner_email]
        stdout.write(
            f"Capacity catalogue: {providers.count()} providers "
            f"({providers.filter(status=ProviderProfile.Status.VERIFIED).count()} verified), "
            f"{resources.count()} resources ({resources.visible_to_buyers().count()} visible to buyers); "
            f"added {len(todo)} resources and {len(bookings)} bookings this run."
        )
        if generated:
            stdout.write(
                f"Generated provider owners: {generated[0]} … {generated[-1]} "
                f"({len(generated)} accounts, same demo password)."
            )
