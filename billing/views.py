"""Billing pages: the organisation's billing page (invoices received and issued, payments,
invoicing details, the provider statement and its CSV), the invoice page with its PDF and
fapiao, and the operator's payments page (record a bank transfer, trial balance).

Invoices are fetched *with* the viewer's scope (selectors.invoice_access): another
organisation's invoice, PDF or fapiao is a 404.
"""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import selectors, stripe_gateway
from billing.forms import (
    BankPayoutForm,
    BankRefundExecutedForm,
    BankTransferForm,
    BuyerBillingProfileForm,
    CardPaymentForm,
    CreditNoteForm,
    FapiaoForm,
    SupplementaryInvoiceForm,
)
from billing.models import BankRefund, BuyerBillingProfile, Invoice, PeriodRun, PeriodRunItem
from billing.services import card_payments, deposits, payments, payouts
from billing.services import invoices as services
from billing.services.ledger import trial_balance
from marketplace.access import active_membership, operator_required, organisation_required, owner_required
from marketplace.errors import DomainError
from marketplace.selectors import trades as trade_selectors


def _signed_in(view):
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _access(request, invoice_id: int) -> selectors.InvoiceAccess:
    membership = active_membership(request)
    access = selectors.invoice_access(
        user=request.user, organisation=membership.organisation if membership else None, invoice_id=invoice_id
    )
    if access is None:
        raise Http404
    return access


def _back(invoice_id: int):
    return redirect("billing:invoice_detail", invoice_id=invoice_id)


# --- the organisation's billing page --------------------------------------------------------------


@organisation_required
@require_GET
def billing_home(request):
    organisation = request.organisation
    issued = list(selectors.invoices_issued(organisation)) if organisation.is_provider else []
    context = {
        "received": list(selectors.invoices_received(organisation)),
        "payments": list(selectors.payments_of(organisation)),
        "issued": issued,
        "connect_account": getattr(organisation, "connect_account", None) if organisation.is_provider else None,
        "cards_on": stripe_gateway.is_configured(),
        # Net of credit notes: a void invoice is fully credited, a partly credited one counts its rest.
        "statement_totals": {
            "net": sum((i.net + i.credited_net for i in issued), start=0),
            "commission": sum((i.commission + i.credited_commission for i in issued), start=0),
            "share": sum((i.provider_share + i.credited_share for i in issued), start=0),
        },
        "profile": BuyerBillingProfile.objects.filter(organisation=organisation).first(),
        "is_owner": request.membership.is_owner,
    }
    return render(request, "billing/home.html", context)


@organisation_required
@require_GET
def refunds(request):
    """Refunds the organisation received on its card payments, and (providers) refunds on its
    own invoices; each links to its invoice and credit note."""
    organisation = request.organisation
    context = {
        "received": list(selectors.refunds_received(organisation)) if organisation.is_buyer else [],
        "issued": list(selectors.refunds_issued(organisation)) if organisation.is_provider else [],
    }
    return render(request, "billing/refunds.html", context)


@owner_required
@require_http_methods(["GET", "POST"])
def billing_details(request):
    profile = BuyerBillingProfile.objects.filter(organisation=request.organisation).first()
    form = BuyerBillingProfileForm(request.POST or None, instance=profile)
    if request.method == "POST":
        if form.is_valid():
            services.save_billing_profile(organisation=request.organisation, data=form.cleaned_data)
            messages.success(request, _("Invoicing details saved. New invoices will carry them."))
            return redirect("billing:home")
        messages.error(request, _("Check the invoicing details."))
    return render(request, "billing/details.html", {"form": form})


@organisation_required
@require_GET
def provider_statement_csv(request):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="spindle-statement.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 (Chinese names) correctly with a BOM
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Invoice"),
            _("Issued"),
            _("Buyer"),
            _("Status"),
            _("Currency"),
            _("Net"),
            _("VAT"),
            _("Total"),
            _("Commission"),
            _("Net to you"),
            _("Credited (gross)"),
            _("Paid"),
        ]
    )
    for invoice in selectors.invoices_issued(request.organisation).order_by("issued_at", "pk"):
        writer.writerow(
            [
                invoice.number,
                f"{invoice.issued_at:%Y-%m-%d}",
                invoice.buyer_legal_name,
                invoice.get_status_display(),
                invoice.currency,
                invoice.net,
                invoice.vat,
                invoice.gross,
                invoice.commission,
                invoice.provider_share,
                invoice.credited_gross,
                invoice.paid,
            ]
        )
    return response


# --- an invoice ---------------------------------------------------------------------------------


@_signed_in
@require_GET
def invoice_detail(request, invoice_id: int):
    access = _access(request, invoice_id)
    invoice = access.invoice
    context = {
        "access": access,
        "invoice": invoice,
        "lines": invoice.lines.all(),
        "credit_notes": invoice.credit_notes.all(),
        "remaining": services.remaining_of(invoice),
        "payments": invoice.payments.all(),
        "bank_refunds": invoice.bank_refunds.all(),
        "supplementary": invoice.supplementary_invoices.exclude(status=Invoice.Status.DRAFT).order_by("pk"),
        "events": invoice.events.select_related("actor"),
        "amount_due": services.amount_due(invoice),
        "bank": settings.SPINDLE_PLATFORM_BANK,
        "cards_on": stripe_gateway.is_configured(),
        "card_payments": invoice.stripe_payments.all(),
        "refunds": invoice.refunds.all(),
        "payout": getattr(invoice, "payout", None),
        "fapiao_form": FapiaoForm() if access.is_seller else None,
        "credit_form": CreditNoteForm() if access.is_seller and invoice.is_open else None,
        "supplement_form": SupplementaryInvoiceForm(prefix="extra") if _seller_owner(request, access) else None,
        "bank_refund_form": BankRefundExecutedForm(prefix="bankrefund") if access.role == selectors.OPERATOR else None,
        "accept_attribute": ".pdf,.png,.jpg,.jpeg,.webp,.tif,.tiff",
    }
    return render(request, "billing/invoice_detail.html", context)


@_signed_in
@require_GET
def invoice_pdf(request, invoice_id: int):
    from billing.pdf import render_invoice_pdf

    invoice = _access(request, invoice_id).invoice
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@_signed_in
@require_GET
def invoice_fapiao(request, invoice_id: int):
    invoice = _access(request, invoice_id).invoice
    if not invoice.fapiao:
        raise Http404
    response = FileResponse(
        invoice.fapiao.open("rb"),
        as_attachment=request.GET.get("download") == "1",
        filename=invoice.fapiao_name,
        content_type=invoice.fapiao_type,
    )
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@_signed_in
@require_POST
def invoice_fapiao_upload(request, invoice_id: int):
    access = _access(request, invoice_id)
    if not access.is_seller:
        raise Http404
    form = FapiaoForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose the fapiao file to upload."))
        return _back(invoice_id)
    try:
        services.upload_fapiao(invoice=access.invoice, upload=form.cleaned_data["file"], by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Fapiao uploaded; the buyer can open it now."))
    return _back(invoice_id)


@_signed_in
@require_POST
def invoice_credit_note(request, invoice_id: int):
    access = _access(request, invoice_id)
    if not access.is_seller:
        raise Http404
    form = CreditNoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for the credit note."))
        return _back(invoice_id)
    try:
        note = services.issue_credit_note(
            invoice=access.invoice,
            amount=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            by=request.user,
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Credit note %(number)s issued.") % {"number": note.number})
    return _back(invoice_id)


def _seller_owner(request, access: selectors.InvoiceAccess) -> bool:
    """Supplementary invoices are the provider's to issue, by an owner of its organisation."""
    if not access.is_seller or access.invoice.status == Invoice.Status.DRAFT:
        return False
    membership = active_membership(request)
    return bool(membership and membership.is_owner)


@_signed_in
@require_POST
def invoice_supplement(request, invoice_id: int):
    access = _access(request, invoice_id)
    if not _seller_owner(request, access):
        raise Http404
    form = SupplementaryInvoiceForm(request.POST, prefix="extra")
    if not form.is_valid():
        messages.error(request, _("Check the extra charge: description, quantity, unit price and reason."))
        return _back(invoice_id)
    data = form.cleaned_data
    try:
        supplement = services.issue_supplementary_invoice(
            invoice=access.invoice,
            lines=[
                services.ExtraLine(
                    description=data["description"],
                    quantity=data["quantity"],
                    unit=data["unit"],
                    unit_price=data["unit_price"],
                )
            ],
            reason=data["reason"],
            by=request.user,
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _back(invoice_id)
    messages.success(
        request, _("Supplementary invoice %(number)s issued and sent to the buyer.") % {"number": supplement.number}
    )
    return _back(supplement.pk)


@operator_required
@require_POST
def bank_refund_executed(request, refund_id: int):
    """The operator sent a bank refund owed to the buyer and records its bank reference."""
    bank_refund = BankRefund.objects.filter(pk=refund_id).first()
    if bank_refund is None:
        raise Http404
    form = BankRefundExecutedForm(request.POST, prefix="bankrefund")
    if not form.is_valid():
        messages.error(request, _("Give the bank's reference of the transfer."))
        return _back(bank_refund.invoice_id)
    try:
        payouts.record_bank_refund_executed(
            bank_refund=bank_refund, bank_reference=form.cleaned_data["bank_reference"], by=request.user
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Bank refund recorded as sent."))
    return _back(bank_refund.invoice_id)


@_signed_in
@require_POST
def trade_invoice_issue(request, trade_id: int):
    """The provider issues the invoice of a completed trade (from the trade page)."""
    membership = active_membership(request)
    access = trade_selectors.trade_access(
        user=request.user, organisation=membership.organisation if membership else None, trade_id=trade_id
    )
    if access is None or not access.is_provider:
        raise Http404
    try:
        invoice = services.issue_invoice_for_trade(trade=access.trade, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("trade_detail", trade_id=trade_id)
    messages.success(request, _("Invoice %(number)s issued and sent to the buyer.") % {"number": invoice.number})
    return _back(invoice.pk)


# --- operators ----------------------------------------------------------------------------------


@operator_required
@require_http_methods(["GET", "POST"])
def ops_payments(request):
    form = BankTransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        invoice = selectors.find_invoice_by_reference(data["reference"])
        deposit = None if invoice else deposits.find_deposit_by_reference(data["reference"])
        if deposit is not None:
            try:
                deposits.record_deposit_transfer(
                    deposit=deposit,
                    amount=data["amount"],
                    received_on=data["received_on"],
                    bank_reference=data["bank_reference"],
                    by=request.user,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _("Transfer recorded against the deposit of trade #%(id)s.") % {"id": deposit.trade_id},
                )
                return redirect(reverse("billing:ops_payments"))
        elif invoice is None:
            form.add_error("reference", _("No invoice or deposit has this payment reference or number."))
        else:
            try:
                payment = payments.record_bank_transfer(
                    invoice=invoice,
                    amount=data["amount"],
                    received_on=data["received_on"],
                    bank_reference=data["bank_reference"],
                    by=request.user,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _("Transfer recorded against %(number)s.") % {"number": payment.invoice.number},
                )
                return redirect(reverse("billing:ops_payments"))
    if request.method == "POST":
        messages.error(request, _("The transfer was not recorded."))
    rows = selectors.trial_balance_rows()
    currencies = sorted({row["currency"] for row in rows})
    context = {
        "form": form,
        "open_invoices": selectors.open_invoices().order_by("due_at", "pk"),
        "payments": selectors.recent_payments(),
        "bank_refunds_owed": selectors.bank_refunds_owed(),
        "deposits_requested": selectors.deposits_requested(),
        "deposit_refunds_owed": [
            (refund, BankRefundExecutedForm(prefix=f"depositrefund-{refund.pk}"))
            for refund in selectors.deposit_refunds_owed()
        ],
        "trial_rows": rows,
        "trial_totals": [(currency, trial_balance(currency)) for currency in currencies],
    }
    return render(request, "billing/ops_payments.html", context, status=400 if request.method == "POST" else 200)


# --- card payments (Stripe) -----------------------------------------------------------------------


@_signed_in
@require_http_methods(["GET", "POST"])
def invoice_pay(request, invoice_id: int):
    """The buyer pays by card: Stripe.js turns the card into a PaymentMethod in the browser and
    the server confirms the invoice's PaymentIntent with it (card data never reaches us)."""
    access = _access(request, invoice_id)
    if not access.is_buyer:
        raise Http404
    invoice = access.invoice
    form = CardPaymentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                card_payments.pay_by_card(
                    invoice=invoice, payment_method=form.cleaned_data["payment_method"], by=request.user
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                invoice.refresh_from_db()
                if invoice.status == Invoice.Status.PAID:
                    messages.success(request, _("Thank you: invoice %(number)s is paid.") % {"number": invoice.number})
                else:
                    messages.info(
                        request, _("Your card payment is being processed; reload this page in a minute to see it.")
                    )
                return _back(invoice.pk)
        status = 400
    context = {
        "invoice": invoice,
        "form": form,
        "amount_due": services.amount_due(invoice),
        "cards_on": stripe_gateway.is_configured(),
        "stripe_js_url": settings.STRIPE_JS_URL,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "bank": settings.SPINDLE_PLATFORM_BANK,
    }
    return render(request, "billing/pay.html", context, status=status)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's webhook: verify the signature on the raw body, store the event once, answer fast;
    a Celery task handles it. 400 for a forged or malformed body, 503 (Stripe retries) if busy."""
    try:
        card_payments.receive_event(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
    except (ValueError, stripe_gateway.SignatureVerificationError):
        return HttpResponse("invalid signature", status=400, content_type="text/plain")
    except card_payments.LockTimeout:
        return HttpResponse("busy, retry", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


# --- payouts ------------------------------------------------------------------------------------


@owner_required
@require_POST
def connect_onboarding(request):
    """A provider's owner sets up Stripe payouts: the Express account once, then Stripe's page."""
    membership = active_membership(request)
    here = request.build_absolute_uri(reverse("billing:home"))
    try:
        url = payouts.start_connect_onboarding(
            organisation=membership.organisation, email=request.user.email, refresh_url=here, return_url=here
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("billing:home")
    return redirect(url)


@operator_required
@require_http_methods(["GET", "POST"])
def ops_payouts(request):
    """Paid invoices whose provider has no Stripe payouts: the operator pays by bank and records it."""
    form = BankPayoutForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            invoice = Invoice.objects.filter(pk=form.cleaned_data["invoice"]).first()
            if invoice is None:
                form.add_error(None, _("No such invoice."))
            else:
                try:
                    payouts.record_bank_payout(
                        invoice=invoice, bank_reference=form.cleaned_data["bank_reference"], by=request.user
                    )
                except DomainError as error:
                    form.add_error(None, error.message)
                else:
                    messages.success(request, _("Payout recorded for %(number)s.") % {"number": invoice.number})
                    return redirect("billing:ops_payouts")
        messages.error(request, _("The payout was not recorded."))
    context = {
        "form": form,
        "awaiting": selectors.invoices_awaiting_payout(),
        "payouts": selectors.recent_payouts(),
    }
    return render(request, "billing/ops_payouts.html", context, status=status)


@operator_required
@require_http_methods(["GET", "POST"])
def ops_period_runs(request):
    """Month-end invoicing runs of long rentals; a failed or interrupted one can be resumed."""
    from billing.services import periods

    if request.method == "POST":
        run = PeriodRun.objects.filter(pk=request.POST.get("run")).first()
        if run is None:
            raise Http404
        try:
            periods.rerun_period(run=run)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            period = f"{run.period_start:%Y-%m}"
            messages.success(request, _("The run for %(period)s was sent to a worker again.") % {"period": period})
        return redirect(reverse("billing:ops_period_runs"))
    runs = PeriodRun.objects.all()[:24]
    failed_items = (
        PeriodRunItem.objects.filter(run__in=runs, status=PeriodRunItem.Status.FAILED)
        .select_related("run", "trade")
        .order_by("run", "pk")[:100]
    )
    return render(request, "billing/ops_period_runs.html", {"runs": runs, "failed_items": failed_items})
