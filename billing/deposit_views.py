"""Deposit pages: the buyer pays a trade's deposit (card through Stripe.js, or bank transfer
instructions with the deposit's own reference); an operator records a deposit refund owed by
bank as sent. Deposit transfers are matched on the operator's payments page (views.ops_payments).

A deposit is fetched with the viewer's scope on its trade (marketplace.selectors.trades): only
the buyer's members reach its payment page; anyone else gets a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from billing import stripe_gateway
from billing.forms import BankRefundExecutedForm, CardPaymentForm
from billing.models import Deposit, DepositRefund
from billing.services import deposits as services
from marketplace.access import active_membership, operator_required
from marketplace.errors import DomainError
from marketplace.selectors import trades as trade_selectors


def _buyer_deposit(request, deposit_id: int) -> Deposit:
    deposit = Deposit.objects.select_related("trade").filter(pk=deposit_id).first()
    if deposit is None:
        raise Http404
    membership = active_membership(request)
    access = trade_selectors.trade_access(
        user=request.user, organisation=membership.organisation if membership else None, trade_id=deposit.trade_id
    )
    if access is None or not access.is_buyer:
        raise Http404
    return deposit


@require_http_methods(["GET", "POST"])
def deposit_pay(request, deposit_id: int):
    """The buyer pays the deposit by card (the server confirms the deposit's PaymentIntent with
    the PaymentMethod Stripe.js made) or reads the bank transfer instructions."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    deposit = _buyer_deposit(request, deposit_id)
    form = CardPaymentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                deposit = services.pay_deposit_by_card(
                    deposit=deposit, payment_method=form.cleaned_data["payment_method"], by=request.user
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                if deposit.status == Deposit.Status.PAID:
                    messages.success(request, _("Thank you: the deposit is paid."))
                else:
                    messages.info(
                        request, _("Your card payment is being processed; reload this page in a minute to see it.")
                    )
                return redirect("trade_detail", trade_id=deposit.trade_id)
        status = 400
    context = {
        "deposit": deposit,
        "trade": deposit.trade,
        "form": form,
        "payable": deposit.status == Deposit.Status.REQUESTED,
        "cards_on": stripe_gateway.is_configured(),
        "stripe_js_url": settings.STRIPE_JS_URL,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "bank": settings.SPINDLE_PLATFORM_BANK,
    }
    return render(request, "billing/deposit_pay.html", context, status=status)


@operator_required
@require_POST
def ops_deposit_refund_sent(request, refund_id: int):
    """The operator sent a deposit refund owed to the buyer by bank and records its reference."""
    refund = DepositRefund.objects.filter(pk=refund_id).first()
    if refund is None:
        raise Http404
    form = BankRefundExecutedForm(request.POST, prefix=f"depositrefund-{refund.pk}")
    if not form.is_valid():
        messages.error(request, _("Give the bank's reference of the transfer."))
    else:
        try:
            services.record_deposit_refund_sent(
                refund=refund, bank_reference=form.cleaned_data["bank_reference"], by=request.user
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Deposit refund recorded as sent."))
    return redirect("billing:ops_payments")
