"""Walk every URL the project defines and check who is refused.

Each named route must be listed in ACCESS with who may use it. For every non-public route:
- an anonymous visitor is sent to the login page (or refused);
- a member of another organisation gets 403/404 for objects of this one, on GET and POST;
- a plain member gets 403 where an owner is required;
- a non-operator gets 403/404 in the operator area;
and no refused request changes the database. Later features add their routes here.
"""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from billing.models import (
    BankRefund,
    BuyerBillingProfile,
    CreditNote,
    Deposit,
    DepositRefund,
    Invoice,
    JournalTransaction,
    Payment,
    ReconciliationItem,
    ReconciliationRun,
)
from capacity.models import (
    AvailabilityException,
    Booking,
    Certification,
    Device,
    IdleWindow,
    JobReport,
    JobReportEvent,
    ProviderPhoto,
    ProviderProfile,
    Resource,
    ResourcePhoto,
    ReviewEvent,
)
from capacity.services.metering import submit_job_report
from marketplace.models import (
    RFQ,
    ApiKey,
    FileAccessLog,
    Invitation,
    Match,
    MatchNotificationPreference,
    MatchRun,
    Membership,
    NdaAcceptance,
    Notification,
    Order,
    OrderEvent,
    OrderFile,
    OrderShare,
    Quote,
    Review,
    RFQInvitation,
    Trade,
    TradeBooking,
    TradeEvent,
    TradeFileAccess,
    TradeFlag,
    TradeMessage,
    WebhookDelivery,
    WebhookSubscription,
)
from marketplace.models.ops import AuditEntry, OrganisationSuspension
from marketplace.services import orders as order_services
from marketplace.services import trades as trade_services
from marketplace.services.api_keys import create_api_key
from marketplace.services.webhooks import create_subscription
from tests import samples
from tests.factories import OrderFactory, ProviderProfileFactory, ResourceFactory

PUBLIC = "public"
LOGIN = "login"  # any signed-in user, acting for themselves
ORG = "org"  # a member of the active organisation; objects of other organisations are 404
OWNER = "owner"  # an owner of the active organisation
OPERATOR = "operator"

ACCESS = {
    "home": PUBLIC,
    "healthz": PUBLIC,
    "set_language": PUBLIC,
    "organisation_create": LOGIN,
    "organisation_switch": LOGIN,
    "notifications": LOGIN,
    "invitation_accept": LOGIN,
    "organisation_settings": OWNER,
    "organisation_members": ORG,
    "member_role": OWNER,
    "member_remove": ORG,
    "invitation_revoke": OWNER,
    # orders: buyer pages act on the active organisation's orders; the order page and drawing
    # URLs also admit providers the order is shared with, and operators (with MFA)
    "order_list": ORG,
    "order_create": ORG,
    "order_category_options": ORG,
    "shared_order_list": ORG,
    "order_detail": ORG,
    "order_wizard": ORG,
    "order_cancel": ORG,
    "order_share": ORG,
    "order_unshare": ORG,
    "order_nda_accept": ORG,
    "order_file_upload": ORG,
    "order_file": ORG,
    "order_file_remove": ORG,
    # matches: the buyer's organisation (and operators) only; providers list orders that fit them
    "order_matches": ORG,
    "order_match_run": ORG,
    "order_match_run_status": ORG,
    "order_match_compare": ORG,
    "matched_order_list": ORG,
    # booking from matches and quotes from matches: the order's buyer organisation only
    "order_match_book": ORG,
    "order_split_book": ORG,
    "order_match_rfq": ORG,
    "order_hold": ORG,
    "order_hold_confirm": ORG,
    "order_hold_release": ORG,
    "match_notification_settings": OWNER,
    # metering (device pages, usage, device ingestion signed by HMAC rather than a session)
    "capacity:device_list": ORG,
    "capacity:device_create": OWNER,
    "capacity:device_detail": ORG,
    "capacity:device_rotate": OWNER,
    "capacity:device_revoke": OWNER,
    "capacity:device_resources": OWNER,
    "capacity:booking_usage": ORG,
    "capacity:device_readings_api": PUBLIC,
    # catalogue (public)
    "capacity:catalogue": PUBLIC,
    "capacity:catalogue_list": PUBLIC,
    "capacity:catalogue_resource": PUBLIC,
    "capacity:catalogue_photo": PUBLIC,
    "capacity:provider_public": PUBLIC,
    "capacity:provider_photo": PUBLIC,
    # REST API
    "api-root": LOGIN,
    "category-list": PUBLIC,
    "category-detail": PUBLIC,
    "api_schema": PUBLIC,
    "api_docs": PUBLIC,
    "api_redoc": PUBLIC,
    # resources are readable by anyone (the catalogue); writes are covered by test_api_permissions
    "resource-list": PUBLIC,
    "resource-detail": PUBLIC,
    "resource-availability": PUBLIC,
    "order-list": ORG,
    "order-detail": ORG,
    "order-submit": ORG,
    "order-cancel": ORG,
    "order-files": ORG,
    "order-matches": ORG,
    "trade-list": ORG,
    "trade-detail": ORG,
    "trade-transition": ORG,
    "booking-list": ORG,
    "booking-detail": ORG,
    "quote-list": ORG,
    "quote-detail": ORG,
    "device-list": ORG,
    "device-detail": ORG,
    "usage-list": ORG,
    "usage-detail": ORG,
    "invoice-list": ORG,
    "invoice-detail": ORG,
    "invoice-pdf": ORG,
    "api_keys": OWNER,
    "api_key_revoke": OWNER,
    "webhooks": OWNER,
    "webhook_delete": OWNER,
    "webhook_delivery_replay": OWNER,
    # webhooks API: members read, owners write (test_api_permissions, test_webhooks)
    "webhook-list": ORG,
    "webhook-detail": ORG,
    "webhook-deliveries": ORG,
    "webhook-delivery-list": ORG,
    "webhook-delivery-detail": ORG,
    "webhook-delivery-replay": ORG,
    # provider workspace
    "capacity:workspace_profile": ORG,
    "capacity:workspace_profile_cities": ORG,
    "capacity:workspace_profile_submit": OWNER,
    "capacity:workspace_profile_photo_add": ORG,
    "capacity:workspace_profile_photo_delete": ORG,
    "capacity:workspace_certification_create": ORG,
    "capacity:workspace_certification_edit": ORG,
    "capacity:workspace_certification_delete": ORG,
    "capacity:workspace_file": ORG,
    "capacity:workspace_resources": ORG,
    "capacity:workspace_resource_create": ORG,
    "capacity:workspace_resource_spec_fields": ORG,
    "capacity:workspace_resource_import": ORG,
    "capacity:workspace_import_template_csv": ORG,
    "capacity:workspace_import_template_xlsx": ORG,
    "capacity:workspace_export_csv": ORG,
    "capacity:workspace_export_xlsx": ORG,
    "capacity:workspace_resource_edit": ORG,
    "capacity:workspace_resource_submit": ORG,
    "capacity:workspace_resource_pause": ORG,
    "capacity:workspace_resource_resume": ORG,
    "capacity:workspace_resource_retire": OWNER,
    "capacity:workspace_resource_photo_add": ORG,
    "capacity:workspace_resource_photo_delete": ORG,
    # operator review
    "capacity:ops_providers": OPERATOR,
    "capacity:ops_provider": OPERATOR,
    "capacity:ops_provider_approve": OPERATOR,
    "capacity:ops_provider_reject": OPERATOR,
    "capacity:ops_provider_suspend": OPERATOR,
    "capacity:ops_provider_reinstate": OPERATOR,
    "capacity:ops_listings": OPERATOR,
    "capacity:ops_listing": OPERATOR,
    "capacity:ops_listing_approve": OPERATOR,
    "capacity:ops_listing_reject": OPERATOR,
    "capacity:ops_file": OPERATOR,
    # the operator console (marketplace.ops_views)
    "ops_home": OPERATOR,
    "ops_flags": OPERATOR,
    "ops_flag_resolve": OPERATOR,
    "ops_disputes": OPERATOR,
    "ops_dispute": OPERATOR,
    "ops_dispute_resolve": OPERATOR,
    "ops_organisations": OPERATOR,
    "ops_organisation": OPERATOR,
    "ops_organisation_suspend": OPERATOR,
    "ops_organisation_lift": OPERATOR,
    "ops_audit": OPERATOR,
    "ops_dashboard": OPERATOR,
    # availability calendar and utilisation (capacity.views.calendar)
    "capacity:resource_calendar": ORG,
    "capacity:resource_exception_add": ORG,
    "capacity:resource_exception_delete": ORG,
    "capacity:utilisation": ORG,
    "capacity:resource_utilisation": ORG,
    # trades, RFQs and quotes (marketplace.trade_urls): parties of the trade, the order's buyer,
    # the invited provider; operators (with MFA) may read trades
    "job_board": ORG,
    "trade_list": ORG,
    "trade_detail": ORG,
    "trade_transition": ORG,
    "trade_delivery": ORG,
    "trade_inspection": ORG,
    "trade_report": ORG,
    "trade_message": ORG,
    "trade_attachment": ORG,
    "trade_reschedule": ORG,
    "trade_no_show": ORG,
    "trade_review": ORG,
    "trade_overrun_approve": ORG,
    "trade_job_report": ORG,
    "trade_job_report_confirm": ORG,
    "trade_job_report_dispute": ORG,
    "trade_job_report_evidence": ORG,
    "order_rfq": ORG,
    "order_quotes": ORG,
    "quote_award": ORG,
    "rfq_respond": ORG,
    "rfq_decline": ORG,
    # billing: the two parties of an invoice (by active organisation) and operators with MFA;
    # the invoicing details are the owners'; bank transfers are recorded by operators
    "billing:home": ORG,
    "billing:details": OWNER,
    "billing:statement_csv": ORG,
    "billing:invoice_detail": ORG,
    "billing:invoice_pdf": ORG,
    "billing:invoice_fapiao": ORG,
    "billing:invoice_fapiao_upload": ORG,
    "billing:invoice_credit_note": ORG,
    "billing:invoice_supplement": OWNER,
    "billing:bank_refund_executed": OPERATOR,
    "billing:trade_invoice_issue": ORG,
    "billing:ops_payments": OPERATOR,
    # card payments: the buyer pays; Stripe's webhook is authenticated by its signature, not a
    # session; owners set up Stripe payouts; operators record bank payouts
    "billing:invoice_pay": ORG,
    "billing:stripe_webhook": PUBLIC,
    "billing:connect_onboarding": OWNER,
    "billing:ops_payouts": OPERATOR,
    # refunds: each organisation sees those on its own invoices (received or issued); operators
    # see all, and the daily Stripe reconciliation with its differences
    "billing:refunds": ORG,
    "billing:ops_refunds": OPERATOR,
    "billing:ops_reconciliation": OPERATOR,
    "billing:ops_reconciliation_run": OPERATOR,
    "billing:ops_reconciliation_explain": OPERATOR,
    # month-end period invoicing runs: operators watch and resume them
    "billing:ops_period_runs": OPERATOR,
    # deposits: the buyer of the trade pays its deposit; operators record deposit refunds sent
    "billing:deposit_pay": ORG,
    "billing:ops_deposit_refund_sent": OPERATOR,
}

# Routes provided by libraries whose access rules are their own (allauth, the admin).
LIBRARY_NAMESPACES = ("admin",)
LIBRARY_MODULES = ("allauth.", "django.contrib.admin")

REFUSED = {401, 403, 404, 405}  # 401: the API answers anonymous requests so


def project_routes():
    """(name, route pattern) for every named route the project itself defines; routes of a
    namespaced include are named ``namespace:name``."""
    routes = []

    def walk(patterns, prefix="", namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace in LIBRARY_NAMESPACES or p.urlconf_module.__name__.startswith(LIBRARY_MODULES):
                    continue
                inner = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), inner)
            elif isinstance(p, URLPattern) and p.name:
                module = getattr(p.callback, "__module__", "")
                if module.startswith(LIBRARY_MODULES):
                    continue
                routes.append((namespace + p.name, prefix + str(p.pattern)))

    walk(get_resolver().url_patterns)
    return routes


@pytest.fixture
def world(provider_org, provider_owner, provider_member, outsider, buyer_org, buyer_owner, private_media):
    """Objects of provider_org (and an order of buyer_org, shared with provider_org, with a
    drawing) that URL parameters point at."""
    from tests.capacity.metering_support import T0, booking, device_for

    device, _secret = device_for(provider_org, provider_owner)
    slot = booking(device.resources.get(), T0, T0 + timedelta(hours=2))
    member_ship = Membership.objects.get(user=provider_member)
    invitation = Invitation.objects.create(
        organisation=provider_org, email="newcomer@provider.example", invited_by=provider_owner
    )
    Notification.objects.create(user=provider_owner, kind="test", title="Private to the owner")
    api_key, _raw = create_api_key(organisation=provider_org, by=provider_owner, name="ERP", scope="read_write")
    webhook, _secret = create_subscription(
        organisation=provider_org, by=provider_owner, url="https://erp.example.com/hooks", event_types=["trade.created"]
    )
    webhook_delivery = WebhookDelivery.objects.create(
        subscription=webhook, event_type="trade.created", payload={}, status="failed", attempts=6
    )
    profile = ProviderProfileFactory(organisation=provider_org, status=ProviderProfile.Status.PENDING)
    certification = Certification.objects.create(
        profile=profile,
        standard=Certification.Standard.ISO9001,
        number="CN-QMS-1",
        issuer="CQC",
        valid_from=date(2025, 1, 1),
        valid_until=date(2028, 1, 1),
    )
    provider_photo = ProviderPhoto.objects.create(profile=profile, image="provider-photos/absent.png")
    resource = ResourceFactory(provider=provider_org, status=Resource.Status.PENDING_REVIEW)
    ResourcePhoto.objects.create(resource=resource, image="resource-photos/absent.png")
    exception = AvailabilityException.objects.create(
        resource=resource,
        kind=AvailabilityException.Kind.BLACKOUT,
        span=DateTimeTZRange(timezone.now() + timedelta(days=1), timezone.now() + timedelta(days=2)),
    )
    order = OrderFactory(buyer=buyer_org, status="open", nda_required=True, nda_text="Keep the drawings private.")
    share = order_services.share_order(order=order, provider=provider_org, by=buyer_owner)
    drawing = order_services.add_order_file(
        order=order, by=buyer_owner, upload=samples.upload("flange.pdf", samples.pdf())
    )
    match_run = MatchRun.objects.create(order=order, requested_by=buyer_owner, status=MatchRun.Status.QUEUED)
    match = Match.objects.create(
        run=match_run, order=order, resource=resource, provider=provider_org, rank=1, score=0.5,
        price_total=100, currency="CNY", finish_at=timezone.now() + timedelta(days=4),
    )  # fmt: skip
    # A trade between buyer_org and provider_org (on a listed mill), with a message and file,
    # and a quote of provider_org on an RFQ of buyer_org.
    mill = ResourceFactory(provider=provider_org)
    start = timezone.now().replace(microsecond=0) + timedelta(days=3)
    IdleWindow.objects.create(resource=mill, span=DateTimeTZRange(start, start + timedelta(hours=8), "[)"))
    trade_order = OrderFactory(buyer=buyer_org, status="open")
    [link] = trade_services.book_plan(
        order=trade_order, buyer_user=buyer_owner, slices=[(mill.pk, start, start + timedelta(hours=2), 10)]
    )
    # This trade asks for a deposit (the provider's policy at booking); later trades do not.
    ProviderProfile.objects.filter(pk=profile.pk).update(deposit_percent=Decimal("30"))
    [trade] = trade_services.confirm_plan(order=trade_order, buyer_user=buyer_owner, booking_ids=[link.booking_id])
    ProviderProfile.objects.filter(pk=profile.pk).update(deposit_percent=Decimal("0"))
    message = trade_services.post_message(
        trade=trade,
        by=buyer_owner,
        organisation=buyer_org,
        body="Revision B",
        uploads=[samples.upload("rev-b.pdf", samples.pdf())],
    )
    report = submit_job_report(booking=link.booking, user=provider_owner, run_seconds=3600, parts=10)
    rfq = RFQ.objects.create(order=order, created_by=buyer_owner)
    rfq_invitation = RFQInvitation.objects.create(rfq=rfq, provider=provider_org)
    quote = Quote.objects.create(
        invitation=rfq_invitation,
        rfq=rfq,
        provider=provider_org,
        resource=mill,
        lines=[{"code": "work", "label": "Work", "amount": "100.00"}],
        total=100,
        lead_time_days=3,
        slot_start=start + timedelta(hours=4),
        slot_end=start + timedelta(hours=6),
        valid_until=start,
    )
    # A completed, invoiced trade between the same two organisations, with its fapiao.
    from billing.services.invoices import issue_invoice_for_trade, upload_fapiao
    from tests.billing.invoice_world import ISSUED_AT, completed_trade

    invoice = issue_invoice_for_trade(
        trade=completed_trade(provider_org, provider_owner, buyer_org, buyer_owner), now=ISSUED_AT
    )
    upload_fapiao(invoice=invoice, upload=samples.upload("fapiao.pdf", samples.pdf()), by=provider_owner)
    # A bank transfer on it, part of which a credit note made owed back to the buyer.
    from billing.services.payments import record_bank_transfer
    from billing.services.payouts import credit_and_refund

    record_bank_transfer(
        invoice=invoice, amount=Decimal("100.00"), received_on=ISSUED_AT.date(), bank_reference="B-1", by=provider_owner
    )
    bank_refund = credit_and_refund(
        invoice=invoice, amount=invoice.gross - Decimal("50.00"), reason="Scoping world", by=provider_owner
    ).bank_refund
    flag = TradeFlag.objects.create(trade=trade, kind=TradeFlag.Kind.PRICE_OUTLIER)
    now = timezone.now()
    reconciliation = ReconciliationRun.objects.create(
        day=date(2026, 3, 1), status=ReconciliationRun.Status.DIFFERENCES, started_at=now, finished_at=now
    )
    difference = ReconciliationItem.objects.create(
        run=reconciliation,
        kind=ReconciliationItem.Kind.OTHER,
        ref="txn_unknown",
        currency="CNY",
        stripe_amount=-5,
        status=ReconciliationItem.Status.MISSING_IN_LEDGER,
    )
    return {
        "reconciliation_id": reconciliation.pk,
        "item_id": difference.pk,
        "invoice_id": invoice.pk,
        "refund_id": bank_refund.pk,
        "flag_id": flag.pk,
        "organisation_id": provider_org.pk,
        "trade_id": trade.pk,
        "deposit_id": trade.deposit.pk,
        "attachment_id": message.attachments.get().pk,
        "link_id": link.pk,
        "match_id": match.pk,
        "report_id": report.pk,
        "quote_id": quote.pk,
        "rfq_invitation_id": rfq_invitation.pk,
        "device_id": device.pk,
        "booking_id": slot.pk,
        "order_id": order.pk,
        "step": "spec",
        "share_id": share.pk,
        "drawing_id": drawing.pk,
        "run_id": match_run.pk,
        "membership_id": member_ship.pk,
        "invitation_id": invitation.pk,
        "token": invitation.token,
        "profile_id": profile.pk,
        "certification_id": certification.pk,
        "resource_id": resource.pk,
        "exception_id": exception.pk,
        "photo_id": provider_photo.pk,
        "kind": "licence",
        "file_id": profile.pk,
        "key_id": api_key.pk,
        "subscription_id": webhook.pk,
        "delivery_id": webhook_delivery.pk,
        # public routes (any value will do)
        "pk": resource.pk,
        "slug": provider_org.slug,
        "code": "P0101",
    }


def url_for(name, world):
    params = set(re.findall(r"<(?:\w+:)?(\w+)>", dict(project_routes())[name]))
    missing = params - set(world)
    assert not missing, f"add sample values for {sorted(missing)} (route {name}) to the world fixture"
    return reverse(name, kwargs={k: world[k] for k in params})


def snapshot():
    return (
        list(Membership.objects.order_by("pk").values_list("pk", "role")),
        list(Invitation.objects.order_by("pk").values_list("pk", "accepted_at", "revoked_at")),
        list(Notification.objects.order_by("pk").values_list("pk", "read_at")),
        list(ProviderProfile.objects.order_by("pk").values_list("pk", "status", "legal_name", "credit_code")),
        list(Resource.objects.order_by("pk").values_list("pk", "status", "name", "rate")),
        list(Certification.objects.order_by("pk").values_list("pk", "number")),
        list(ProviderPhoto.objects.order_by("pk").values_list("pk")),
        list(ResourcePhoto.objects.order_by("pk").values_list("pk")),
        ReviewEvent.objects.count(),
        list(Device.objects.order_by("pk").values_list("pk", "name", "secret_encrypted", "revoked_at", "rotated_at")),
        list(Device.resources.through.objects.order_by("pk").values_list("device_id", "resource_id")),
        list(Order.objects.order_by("pk").values_list("pk", "status", "title", "quantity", "updated_at")),
        list(OrderEvent.objects.order_by("pk").values_list("pk")),
        list(OrderShare.objects.order_by("pk").values_list("pk", "provider")),
        list(OrderFile.objects.order_by("pk").values_list("pk", "file")),
        list(NdaAcceptance.objects.order_by("pk").values_list("pk")),
        list(FileAccessLog.objects.order_by("pk").values_list("pk")),
        list(Trade.objects.order_by("pk").values_list("pk", "status", "carrier", "accepted_quantity", "updated_at")),
        list(TradeEvent.objects.order_by("pk").values_list("pk")),
        list(TradeMessage.objects.order_by("pk").values_list("pk")),
        list(TradeFileAccess.objects.order_by("pk").values_list("pk")),
        list(TradeBooking.objects.order_by("pk").values_list("pk", "booking", "no_show_at", "overrun_approved_at")),
        list(JobReport.objects.order_by("pk").values_list("pk", "status")),
        JobReportEvent.objects.count(),
        list(Booking.objects.order_by("pk").values_list("pk", "status")),
        list(Review.objects.order_by("pk").values_list("pk")),
        list(RFQ.objects.order_by("pk").values_list("pk", "status")),
        list(RFQInvitation.objects.order_by("pk").values_list("pk", "status")),
        list(Quote.objects.order_by("pk").values_list("pk", "status")),
        list(MatchRun.objects.order_by("pk").values_list("pk", "status", "progress")),
        list(Match.objects.order_by("pk").values_list("pk")),
        list(MatchNotificationPreference.objects.order_by("pk").values_list("pk", "mode")),
        list(Invoice.objects.order_by("pk").values_list("pk", "status", "fapiao", "number")),
        list(CreditNote.objects.order_by("pk").values_list("pk")),
        list(Payment.objects.order_by("pk").values_list("pk")),
        list(BankRefund.objects.order_by("pk").values_list("pk", "status", "bank_reference")),
        list(Deposit.objects.order_by("pk").values_list("pk", "status", "payment_intent_id", "paid_journal")),
        list(DepositRefund.objects.order_by("pk").values_list("pk", "status", "bank_reference")),
        list(BuyerBillingProfile.objects.order_by("pk").values_list("pk", "legal_name", "tax_id")),
        JournalTransaction.objects.count(),
        list(ApiKey.objects.order_by("pk").values_list("pk", "revoked_at")),
        list(WebhookSubscription.objects.order_by("pk").values_list("pk", "url", "active")),
        list(WebhookDelivery.objects.order_by("pk").values_list("pk", "status", "attempts", "next_attempt_at")),
        list(TradeFlag.objects.order_by("pk").values_list("pk", "resolved_at")),
        list(OrganisationSuspension.objects.order_by("pk").values_list("pk", "lifted_at")),
        list(AuditEntry.objects.order_by("pk").values_list("pk")),
        list(ReconciliationRun.objects.order_by("pk").values_list("pk", "runs")),
        list(ReconciliationItem.objects.order_by("pk").values_list("pk", "explanation", "explained_at")),
    )


def test_every_route_has_an_access_rule():
    names = {name for name, _ in project_routes()}
    assert names - set(ACCESS) == set(), "new routes need an entry in ACCESS"
    assert set(ACCESS) - names == set(), "ACCESS lists routes that no longer exist"


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_login(client, world):
    before = snapshot()
    for name, _ in project_routes():
        if ACCESS[name] == PUBLIC:
            continue
        url = url_for(name, world)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code in REFUSED | {302}, (name, method, response.status_code)
            if response.status_code == 302:
                assert response.url.startswith(reverse("account_login")), (name, method, response.url)
    assert snapshot() == before


@pytest.mark.django_db
def test_members_of_another_organisation_see_nothing(client, world, outsider):
    client.force_login(outsider)
    before = snapshot()
    for name, route in project_routes():
        if ACCESS[name] == PUBLIC or "<" not in route:
            # Public pages are for everyone; parameterless routes are scoped to the outsider's own
            # organisation and hold nothing of provider_org.
            continue
        url = url_for(name, world)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code in REFUSED, (name, method, response.status_code)
    assert snapshot() == before


@pytest.mark.django_db
def test_plain_members_cannot_do_what_owners_do(client, world, provider_member):
    client.force_login(provider_member)
    before = snapshot()
    for name, _ in project_routes():
        if ACCESS[name] != OWNER:
            continue
        url = url_for(name, world)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code in REFUSED, (name, method, response.status_code)
    assert snapshot() == before


@pytest.mark.django_db
def test_non_operators_are_refused_in_the_operator_area(client, world, provider_owner):
    client.force_login(provider_owner)
    before = snapshot()
    operator_urls = [url_for(name, world) for name, _ in project_routes() if ACCESS[name] == OPERATOR]
    operator_urls += [reverse("admin:index"), reverse("admin:marketplace_organisation_changelist")]
    for url in operator_urls:
        for method in ("get", "post"):
            # The admin first redirects to its login, which (through allauth) refuses non-staff.
            response = getattr(client, method)(url, follow=True)
            assert response.status_code in REFUSED, (url, method, response.status_code)
    assert snapshot() == before
