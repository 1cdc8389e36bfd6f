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
