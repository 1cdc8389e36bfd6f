"""Demo trades (seed_demo step): the demo buyer 杭州启明 and the demo provider 苏州精工 with a trade
in every state, and an open RFQ with a quote to compare. Idempotent: each demo order is found
by its title and skipped when it exists. Slots are taken from the provider's real free time,
through the same services buyers use, so the demo never double-books."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from capacity.models import Category, Resource
from capacity.services.booking import next_free_slots
from marketplace.models import Membership, Order, Organisation, Trade
from marketplace.services import ops as ops_services
from marketplace.services import quotes as quote_services
from marketplace.services import trades as services

BUYER_SLUG = "hangzhou-qiming"
PROVIDER_SLUG = "suzhou-jinggong"
S = Trade.Status

# (title, path of states after confirmed, who makes each move)
SCENARIOS = [
    ("演示：电机端盖 50 件（已确认）", []),
    ("演示：减速器壳体 30 件（生产中）", [S.IN_PRODUCTION]),
    ("演示：关节法兰 80 件（已完工）", [S.IN_PRODUCTION, S.PRODUCED]),
    ("演示：传感器支架 120 件（已交付）", [S.IN_PRODUCTION, S.PRODUCED, S.DELIVERED]),
    ("演示：夹爪指块 60 件（已检验）", [S.IN_PRODUCTION, S.PRODUCED, S.DELIVERED, S.INSPECTED]),
    ("演示：同步带轮 100 件（已完成）", [S.IN_PRODUCTION, S.PRODUCED, S.DELIVERED, S.INSPECTED, S.COMPLETED]),
    ("演示：底座安装板 40 件（已取消）", [S.CANCELLED]),
    ("演示：丝杠支座 70 件（争议中）", [S.IN_PRODUCTION, S.PRODUCED, S.DELIVERED, S.DISPUTED]),
    (
        "演示：电池托架 25 件（争议已解决）",
        [S.IN_PRODUCTION, S.PRODUCED, S.DELIVERED, S.DISPUTED, S.RESOLVED],
    ),
]
RFQ_TITLE = "演示：谐波减速器柔轮 20 件（询价中）"


def _owner(organisation: Organisation):
    return (
        Membership.objects.filter(organisation=organisation, role=Membership.Role.OWNER)
        .select_related("user")
        .first()
        .user
    )


def _order(buyer: Organisation, user, title: str, quantity: int, now) -> Order:
    category = Category.objects.get(code="P0101")
    return Order.objects.create(
        buyer=buyer,
        created_by=user,
        status=Order.Status.OPEN,
        kind=Order.Kind.PRODUCTION,
        category=category,
        title=title,
        quantity=quantity,
        envelope_x_mm=Decimal("120"),
        envelope_y_mm=Decimal("80"),
        envelope_z_mm=Decimal("40"),
        tolerance_mm=Decimal("0.02"),
        due_at=now + timedelta(days=30),
        budget=Decimal("20000.00"),
        currency="CNY",
        submitted_at=now,
    )


def seed_trades(*, stdout=None, now=None) -> None:
    from marketplace.models import User

    now = now or timezone.now()
    buyer = Organisation.objects.filter(slug=BUYER_SLUG).first()
    provider = Organisation.objects.filter(slug=PROVIDER_SLUG).first()
    if buyer is None or provider is None:
        return
    buyer_user, provider_user = _owner(buyer), _owner(provider)
    operator = User.objects.filter(is_staff=True).order_by("pk").first()
    resources = list(Resource.objects.filter(provider=provider, status=Resource.Status.LISTED).order_by("pk"))
    if not resources:
        return
    made = 0
    for index, (title, path) in enumerate(SCENARIOS):
        if Order.objects.filter(buyer=buyer, title=title).exists():
            continue
        resource = resources[index % len(resources)]
        slots = next_free_slots(resource, timedelta(hours=4), after=now + timedelta(days=3), count=1)
        if not slots:
            continue
        quantity = int(title.split(" ")[1]) if " " in title else 10
        order = _order(buyer, buyer_user, title, quantity, now)
        start, end = slots[0]
        links = services.book_plan(
            order=order, buyer_user=buyer_user, slices=[(resource.pk, start, end, quantity)], now=now
        )
        [trade] = services.confirm_plan(
            order=order, buyer_user=buyer_user, booking_ids=[link.booking_id for link in links], now=now
        )
        for to in path:
            if to == S.INSPECTED:
                services.record_inspection(
                    trade=trade,
                    by=buyer_user,
                    accepted=quantity - 2,
                    rejected=2,
                    reasons="两件孔径超差 +0.03 mm",
                    now=now,
                )
                continue
            by = operator if to == S.RESOLVED else provider_user
            if to in (S.CANCELLED, S.COMPLETED, S.DISPUTED):
                by = buyer_user
            if to == S.DISPUTED and trade.status == S.DELIVERED:
                note = "到货数量少 5 件"
            elif to == S.RESOLVED:
                note = "服务商补发 5 件，双方确认"
            else:
                note = ""
            if to == S.DELIVERED:
                services.record_delivery(
                    trade=trade, by=provider_user, carrier="顺丰速运", tracking_number=f"SF10{trade.pk:08d}"
                )
            if to == S.RESOLVED:
                ops_services.resolve_dispute(trade=trade, by=operator, decision="redo", note=note, now=now)
            else:
                services.transition_trade(trade=trade, to=to, by=by, note=note, now=now)
        if trade.status == S.COMPLETED:
            trade.refresh_from_db()
            services.leave_review(trade=trade, by=buyer_user, organisation=buyer, rating=5, text="交期准，质量稳定。")
        services.post_message(trade=trade, by=buyer_user, organisation=buyer, body="请按图纸 B 版加工，谢谢。", now=now)
        made += 1
    if not Order.objects.filter(buyer=buyer, title=RFQ_TITLE).exists():
        order = _order(buyer, buyer_user, RFQ_TITLE, 20, now)
        rfq = quote_services.create_rfq(order=order, by=buyer_user, providers=[provider], message="请报价", now=now)
        resource = resources[-1]
        slots = next_free_slots(resource, timedelta(hours=6), after=now + timedelta(days=5), count=1)
        if slots:
            quote_services.submit_quote(
                invitation=rfq.invitations.get(),
                by=provider_user,
                resource=resource,
                lines=[
                    {"code": "work", "label": "加工", "amount": "5400.00"},
                    {"code": "setup", "label": "装夹调试", "amount": "300.00"},
                ],
                lead_time_days=7,
                slot_start=slots[0][0],
                slot_end=slots[0][1],
                valid_until=now + timedelta(days=7),
                now=now,
            )
    if stdout is not None:
        stdout.write(f"Demo trades: {made} new.")
