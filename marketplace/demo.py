"""Demo market data (see the seed_demo command). Every step is idempotent."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

from marketplace.models import Membership, Organisation, User

DEMO_PASSWORD = "spindle-demo-2026"  # noqa: S105 — published demo password
# A fixed, published TOTP key so the demo operator can sign in; never used outside the demo.
OPERATOR_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105

OPERATOR_EMAIL = "ops@spindle.demo"

# (slug, name, kind, owner email, member email or None)
ORGANISATIONS = [
    (
        "suzhou-jinggong",
        "苏州精工数控有限公司",
        Organisation.Kind.PROVIDER,
        "provider@spindle.demo",
        "planner@spindle.demo",
    ),
    ("dongguan-hongda", "东莞鸿达模塑科技有限公司", Organisation.Kind.PROVIDER, "moulding@spindle.demo", None),
    ("shenzhen-zhengce", "深圳正测检测技术有限公司", Organisation.Kind.PROVIDER, "lab@spindle.demo", None),
    ("ningbo-jiliang", "宁波衡准计量校准有限公司", Organisation.Kind.PROVIDER, "metrology@spindle.demo", None),
    (
        "hangzhou-qiming",
        "杭州启明机器人有限公司",
        Organisation.Kind.BUYER,
        "buyer@spindle.demo",
        "engineer@spindle.demo",
    ),
    ("shanghai-lanfan", "上海蓝帆医疗器械有限公司", Organisation.Kind.BUYER, "medical@spindle.demo", None),
    ("nordic-drives", "Nordic Drives AB", Organisation.Kind.BUYER, "procurement@spindle.demo", None),
    ("wuxi-tongda", "无锡通达精密机械有限公司", Organisation.Kind.BOTH, "both@spindle.demo", None),
]


def demo_logins() -> list[tuple[str, str]]:
    rows = [(OPERATOR_EMAIL, "operator")]
    for _slug, name, kind, owner, member in ORGANISATIONS:
        rows.append((owner, f"{kind} owner · {name}"))
        if member:
            rows.append((member, f"{kind} member · {name}"))
    return rows


def ensure_user(email: str, *, full_name: str = "", staff: bool = False) -> User:
    user, created = User.objects.get_or_create(
        email=email, defaults={"full_name": full_name, "is_staff": staff, "is_superuser": staff}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def seed_people(*, stdout=None) -> None:
    operator = ensure_user(OPERATOR_EMAIL, full_name="Spindle Operator", staff=True)
    if not Authenticator.objects.filter(user=operator, type=Authenticator.Type.TOTP).exists():
        from allauth.mfa.totp.internal.auth import TOTP

        TOTP.activate(operator, OPERATOR_TOTP_SECRET)
    for slug, name, kind, owner_email, member_email in ORGANISATIONS:
        organisation, _ = Organisation.objects.get_or_create(slug=slug, defaults={"name": name, "kind": kind})
        owner = ensure_user(owner_email)
        Membership.objects.get_or_create(
            user=owner, organisation=organisation, defaults={"role": Membership.Role.OWNER}
        )
        if member_email:
            member = ensure_user(member_email)
            Membership.objects.get_or_create(
                user=member, organisation=organisation, defaults={"role": Membership.Role.MEMBER}
            )


# (buyer slug, title, category, quantity, cycle minutes, part size, material, extras, due in days, expectation)
DEMO_ORDERS = [
    ("hangzhou-qiming", "铝合金电机端盖 (Aluminium motor end cover)", "P0101", 40, "12", ("150", "150", "40"),
     "AL6061", {"tolerance_mm": "0.02"}, 10, "matched"),
    ("hangzhou-qiming", "PC 控制器外壳 (PC controller housing)", "P0601", 2000, "0.8", ("120", "80", "40"),
     "PC", {}, 14, "matched"),
    ("shanghai-lanfan", "不锈钢支架中性盐雾试验 96 h (Salt-spray test of steel brackets, NSS 96 h)", "T0205", 1,
     "5760", None, None, {}, 21, "matched"),
    ("shanghai-lanfan", "泵体三坐标全尺寸检测 (CMM inspection of pump bodies)", "M0101", 20, "30",
     ("300", "200", "100"), None, {"measurand": "length", "range_min": "0", "range_max": "500", "range_unit": "mm"},
     7, "matched"),
    ("nordic-drives", "Hardened gear shafts, rush batch", "P0104", 600, "45", ("60", "60", "300"), None, {}, 10,
     "split"),
    ("nordic-drives", "Titanium impeller series", "P0109", 600, "60", ("200", "200", "80"), None, {}, 3,
     "unmet"),
]  # fmt: skip


def seed_orders(*, stdout=None, now=None) -> None:
    """Open orders of the demo buyers across categories, matched on the spot: most find
    machines, one needs a split, one cannot be met in time (its run explains why).

    Idempotent: orders by (buyer, title); an order is matched only while it has no run."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from capacity.models import Category, Material, Measurand
    from marketplace.models import MatchRun, Order
    from marketplace.services import matching, orders

    now = now or timezone.now()
    hangzhou = {"province": "ZJ", "city": "HZ", "latitude": Decimal("30.274085"), "longitude": Decimal("120.155070")}
    for slug, title, code, quantity, cycle, size, material, extra, due_days, _expect in DEMO_ORDERS:
        buyer = Organisation.objects.filter(slug=slug).first()
        owner = Membership.objects.filter(organisation=buyer, role=Membership.Role.OWNER).select_related("user").first()
        if buyer is None or owner is None:
            continue
        order = Order.objects.filter(buyer=buyer, title=title).first()
        if order is None:
            category = Category.objects.get(code=code)
            fields = {
                "kind": category.kind,
                "category": category,
                "title": title,
                "quantity": quantity,
                "cycle_time_minutes": Decimal(cycle),
                "due_at": now + timedelta(days=due_days),
                "budget": Decimal("50000.00"),
                **hangzhou,
            }
            if size:
                fields.update(
                    envelope_x_mm=Decimal(size[0]), envelope_y_mm=Decimal(size[1]), envelope_z_mm=Decimal(size[2])
                )
            if material:
                fields["material"] = Material.objects.get(code=material)
            for key, value in extra.items():
                fields[key] = (
                    Measurand.objects.get(code=value)
                    if key == "measurand"
                    else (value if key == "range_unit" else Decimal(value))
                )
            order = orders.create_order(buyer=buyer, by=owner.user, fields=fields, now=now)
            if orders.order_problems(order, now=now):
                # The catalogue's salt-spray chambers publish no measurand: open it as the
                # buyer would after the lab confirmed the test by phone.
                orders.transition_order(order=order, to=Order.Status.OPEN, by=owner.user, now=now)
            else:
                orders.submit_order(order=order, by=owner.user, now=now)
            order.refresh_from_db()
        if not MatchRun.objects.filter(order=order).exists():
            matching.run_matching(order=order, by=owner.user, now=now)
    if stdout:
        stdout.write(f"Demo orders: {len(DEMO_ORDERS)} (matched on seeding).")
