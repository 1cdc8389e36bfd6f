"""Journey 2: an SME orders parts in the browser (wizard with a drawing), books a ranked match,
the provider produces and delivers while the machine's gateway posts telemetry over signed HTTP,
the buyer inspects and accepts, the provider invoices and the buyer pays by card (localstripe);
a second, shorter trade is paid by bank transfer that an operator records — in Chinese and English.

Card payment: localstripe serves the Stripe.js the pay page loads (its card element mounts), but
its ``createPaymentMethod`` is a stub that resolves to nothing, so the test puts Stripe's test
PaymentMethod ``pm_card_visa`` into the form's hidden field — what Stripe.js would have put there —
and presses Pay: the pay view's server-side path (billing.services.card_payments.pay_by_card)
confirms the PaymentIntent against localstripe.

Clocks: matching and booking run on the live server's real clock (the browser cannot pass
``now``), so the machine's idle time starts a few minutes after the test starts and the readings
fall inside the booked window without being "in the future" for the ingestion endpoint. Only the
usage finality is moved forward, with an explicit ``now`` (below)."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone, translation

from billing.models import BuyerBillingProfile, Invoice, Payment
from capacity.api_metering import sign
from capacity.models import Category
from capacity.models_metering import BookingUsage
from capacity.services.metering import finalise_due_usage, register_device
from marketplace.models import Order, Organisation, Trade
from marketplace.services import trades as trade_services
from tests import samples
from tests.billing.invoice_world import BUYER_TAX_ID, SELLER_TAX_ID
from tests.e2e import journeys as j
from tests.e2e.browser import assert_accessible
from tests.factories import OrganisationFactory, ProviderProfileFactory, ResourceFactory, UserFactory
from tests.marketplace.trade_world import NOW, book, idle, order_of

pytestmark = pytest.mark.django_db(transaction=True)
S = Trade.Status


def text(language: str, message: str) -> str:
    with translation.override(language):
        return translation.gettext(message)


@pytest.fixture
def mill(provider_org):
    """A verified provider's listed 3-axis mill, 6 min per part, idle from a few minutes from now."""
    ProviderProfileFactory(organisation=provider_org, legal_name="苏州精工数控有限公司", credit_code=SELLER_TAX_ID)
    resource = ResourceFactory(
        provider=provider_org,
        name="Haas VF-2 vertical mill",
        rate=Decimal("180.00"),
        setup_fee=Decimal("240.00"),
        cycle_time_minutes=Decimal("6"),
    )
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=3)
    idle(resource, start, start + timedelta(hours=8))
    return resource


@pytest.fixture
def rival_mill(mill):
    """Another provider's mill, free at the same time but dearer: it ranks below ``mill``."""
    rival = OrganisationFactory(name="Ningbo Rival Machining", slug="ningbo-rival", kind=Organisation.Kind.PROVIDER)
    ProviderProfileFactory(organisation=rival)
    resource = ResourceFactory(
        provider=rival,
        name="DMG MORI CMX 600",
        rate=Decimal("320.00"),
        setup_fee=Decimal("400.00"),
        cycle_time_minutes=Decimal("6"),
    )
    window = mill.idle_windows.get().span
    idle(resource, window.lower, window.upper)
    return resource


@pytest.fixture
def operator_user():
    staff = UserFactory(email="ops@spindle.example", is_staff=True, is_superuser=True, password=j.PASSWORD)
    TOTP.activate(staff, j.OPERATOR_TOTP_SECRET)
    return staff


def post_readings(site: str, device, secret: str, readings: list[dict]) -> dict:
    """What the gateway does: one HMAC-signed batch to the live server's ingestion endpoint."""
    body = json.dumps({"readings": readings}).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        f"{site}/api/v1/devices/readings/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Spindle-Device": str(device.pk),
            "X-Spindle-Timestamp": timestamp,
            "X-Spindle-Signature": sign(secret, timestamp, body),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


def transition(page, trade: Trade, to: str) -> None:
    j.submit(page, f"form.action-form:has(input[name=to][value={to}])")
    trade.refresh_from_db()
    assert trade.status == to


def status_tag(page) -> str:
    return page.locator("main .tag[class*=invoice-status-]").first.inner_text()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_buyer_orders_books_accepts_and_pays_by_card_and_by_bank(
    page_in,
    site,
    stripe_on,
    private_media,
    mill,
    rival_mill,
    provider_org,
    provider_owner,
    buyer_org,
    buyer_owner,
    operator_user,
    language,
):
    BuyerBillingProfile.objects.create(organisation=buyer_org, legal_name="杭州机器人有限公司", tax_id=BUYER_TAX_ID)
    device, secret = register_device(
        organisation=provider_org, user=provider_owner, name="Gateway hall 2", kind="gateway", resources=[mill]
    )

    # The buyer fills the wizard: what, specification, a drawing, when and where; then submits.
    buyer = page_in(language, user=buyer_owner)
    buyer.goto("/orders/new/")
    j.wizard_next(
        buyer,
        {
            "id_kind": Order.Kind.PRODUCTION,
            "id_major": str(Category.objects.get(code="P01").pk),
            "id_title": "Aluminium brackets",
            "id_quantity": "10",
        },
    )
    order = Order.objects.get(buyer=buyer_org)
    j.wizard_next(
        buyer,
        {
            "id_envelope_x_mm": "120",
            "id_envelope_y_mm": "80",
            "id_envelope_z_mm": "30",
            "id_cycle_time_minutes": "6",
        },
    )
    assert buyer.url.endswith(f"/orders/{order.pk}/edit/drawings/")
    drawing = {"name": "bracket-A1.pdf", "mimeType": "application/pdf", "buffer": samples.pdf("Bracket A-1")}
    with buyer.expect_response(lambda r: f"/orders/{order.pk}/files/" in r.url and r.request.method == "POST"):
        buyer.set_input_files("#id_file", files=[drawing])
        buyer.locator("form.upload-form button[type=submit]").click()
    buyer.locator("#order-files", has_text="bracket-A1.pdf").wait_for()
    assert list(order.files.values_list("original_name", flat=True)) == ["bracket-A1.pdf"]
    j.wizard_next(buyer)
    due = timezone.localtime(timezone.now()) + timedelta(days=7)
    j.wizard_next(buyer, {"id_due_at": due.strftime("%Y-%m-%dT%H:%M"), "id_currency": "CNY"})
    j.submit(buyer, f"main form[action$='/orders/{order.pk}/edit/review/']")
    order.refresh_from_db()
    assert order.status == Order.Status.OPEN

    # Matches: the mill is ranked first; the buyer books its slot and confirms the hold.
    buyer.goto(f"/orders/{order.pk}/matches/")
    j.post_action(buyer, f"/orders/{order.pk}/matches/run/")
    match = order.matches.get(resource=mill)
    assert list(order.matches.order_by("rank").values_list("resource", "rank")) == [(mill.pk, 1), (rival_mill.pk, 2)]
    assert buyer.locator("li.match-card h2").all_inner_texts() == ["Haas VF-2 vertical mill", "DMG MORI CMX 600"]
    assert_accessible(buyer)
    j.post_action(buyer, f"/orders/{order.pk}/matches/{match.pk}/book/")
    assert buyer.url.endswith(f"/orders/{order.pk}/hold/")
    assert_accessible(buyer)
    j.post_action(buyer, f"/orders/{order.pk}/hold/confirm/")
    trade = Trade.objects.get(order=order)
    booking = trade.bookings.get().booking
    assert buyer.url.endswith(f"/trades/{trade.pk}/")
    assert (trade.status, booking.span.upper - booking.span.lower) == (S.CONFIRMED, timedelta(minutes=60))

    # The provider, in its own browser, starts production.
    provider = page_in(language, user=provider_owner)
    provider.goto(f"/trades/{trade.pk}/")
    transition(provider, trade, S.IN_PRODUCTION)

    # The gateway posts the mill's counters for the first minutes of the booked window.
    start = booking.span.lower
    readings = [
        {
            "resource": mill.pk,
            "boot_id": "boot-1",
            "seq": seq,
            "device_time": (start + timedelta(minutes=seq)).isoformat(),
            "run_seconds": 60 * seq,
            "part_count": 5 * seq,
        }
        for seq in range(3)
    ]
    answer = post_readings(site, device, secret, readings)
    assert (answer["stored"], answer["duplicates"], answer["rejected"]) == (3, 0, 0)

    transition(provider, trade, S.PRODUCED)
    transition(provider, trade, S.DELIVERED)

    # The buyer records the inspection (all ten accepted) and accepts.
    buyer.goto(f"/trades/{trade.pk}/")
    buyer.fill("#inspection #id_accepted", "10")
    j.submit(buyer, "form#inspection")
    trade.refresh_from_db()
    assert (trade.status, trade.accepted_quantity, trade.rejected_quantity) == (S.INSPECTED, 10, 0)
    transition(buyer, trade, S.COMPLETED)

    # Usage becomes final 48 h after the window ends: the periodic job runs here with an
    # explicit ``now`` past that moment instead of the test waiting two days.
    assert finalise_due_usage(now=booking.span.upper + timedelta(hours=49)) == 1
    usage = BookingUsage.objects.get(booking=booking)
    assert (usage.final, usage.run_seconds, usage.parts) == (True, Decimal("120"), Decimal("10"))

    # The provider issues the invoice from the trade page.
    provider.goto(f"/trades/{trade.pk}/")
    j.post_action(provider, f"/billing/trades/{trade.pk}/invoice/")
    invoice = Invoice.objects.get(trade=trade)
    # 120 s measured → one 15-minute increment at 180.00/h, plus the setup fee; 13 % VAT.
    assert list(invoice.lines.values_list("code", "quantity", "amount")) == [
        ("machine_hours", Decimal("0.2500"), Decimal("45.00")),
        ("setup", Decimal("1.0000"), Decimal("240.00")),
    ]
    assert (invoice.status, invoice.net, invoice.gross) == (Invoice.Status.ISSUED, Decimal("285.00"), Decimal("322.05"))

    # The buyer pays by card (see the module docstring for how the card form is filled).
    buyer.goto(f"/billing/invoices/{invoice.pk}/pay/")
    buyer.locator("#card-element input").first.wait_for()
    buyer.locator("#id_payment_method").evaluate("(field) => { field.value = 'pm_card_visa'; }")
    j.submit(buyer, "#card-payment-form")
    invoice.refresh_from_db()
    payment = Payment.objects.get(invoice=invoice)
    assert (invoice.status, payment.method, payment.amount) == (Invoice.Status.PAID, "card", invoice.gross)
    assert buyer.url.endswith(f"/billing/invoices/{invoice.pk}/")
    assert status_tag(buyer) == text(language, "Paid")

    # A second, shorter order (booked through the services at fixed times, usage already final):
    # the provider invoices it in the browser, the buyer transfers, an operator records it.
    second_mill = ResourceFactory(provider=provider_org, name="Mazak lathe", rate=Decimal("150.00"))
    idle(second_mill)
    second = book(order_of(buyer_org, title="Turned bushes", quantity=4), buyer_owner, second_mill)
    for to in (S.IN_PRODUCTION, S.PRODUCED, S.DELIVERED):
        trade_services.transition_trade(trade=second, to=to, by=provider_owner, now=NOW)
    trade_services.record_inspection(trade=second, by=buyer_owner, accepted=4, rejected=0, now=NOW)
    trade_services.transition_trade(trade=second, to=S.COMPLETED, by=buyer_owner, now=NOW)
    BookingUsage.objects.create(
        booking=second.bookings.get().booking,
        run_seconds=Decimal("3600"),
        parts=Decimal("4"),
        computed_at=NOW,
        final=True,
        finalised_at=NOW,
    )
    provider.goto(f"/trades/{second.pk}/")
    j.post_action(provider, f"/billing/trades/{second.pk}/invoice/")
    bank_invoice = Invoice.objects.get(trade=second)
    assert bank_invoice.gross == Decimal("440.70")  # 1 h × 150.00 + 240.00 setup, 13 % VAT

    ops = page_in(language)
    j.log_in(ops, operator_user.email, totp_secret=j.OPERATOR_TOTP_SECRET)
    ops.goto("/ops/payments/")
    j.fill(
        ops,
        {
            "id_reference": bank_invoice.payment_reference,
            "id_amount": str(bank_invoice.gross),
            "id_received_on": timezone.localdate().isoformat(),
            "id_bank_reference": "ICBC-20301210-0042",
        },
    )
    j.submit(ops)
    bank_invoice.refresh_from_db()
    transfer = Payment.objects.get(invoice=bank_invoice)
    assert (bank_invoice.status, transfer.method, transfer.amount, transfer.bank_reference) == (
        Invoice.Status.PAID,
        "bank_transfer",
        bank_invoice.gross,
        "ICBC-20301210-0042",
    )
    buyer.goto(f"/billing/invoices/{bank_invoice.pk}/")
    assert status_tag(buyer) == text(language, "Paid")
