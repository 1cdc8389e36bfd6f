from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import BuyerBillingProfile
from capacity.validators import validate_credit_code


class BuyerBillingProfileForm(forms.ModelForm):
    class Meta:
        model = BuyerBillingProfile
        fields = ["legal_name", "tax_id", "address", "phone", "bank_name", "bank_account"]
        help_texts = {
            "legal_name": _("Exactly as on the business licence; printed on every invoice you receive."),
            "tax_id": _("The 18-character unified social credit code (统一社会信用代码)."),
        }

    def clean_tax_id(self):
        value = self.cleaned_data["tax_id"].strip().upper()
        validate_credit_code(value)
        return value


class BankTransferForm(forms.Form):
    reference = forms.CharField(
        label=_("Payment reference or invoice number"),
        max_length=40,
        help_text=_("As quoted by the buyer on the transfer, e.g. SPD7KQ2M9XH4."),
    )
    amount = forms.DecimalField(label=_("Amount received"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    received_on = forms.DateField(label=_("Received on"), widget=forms.DateInput(attrs={"type": "date"}))
    bank_reference = forms.CharField(label=_("Bank reference of the transfer"), max_length=100)


class FapiaoForm(forms.Form):
    file = forms.FileField(
        label=_("VAT fapiao (PDF or image)"),
        help_text=_("The 增值税发票 you issued for this invoice. Visible only to the buyer, you and operators."),
    )


class CreditNoteForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to credit (gross, incl. VAT)"),
        help_text=_("Leave empty to credit all that remains of the invoice."),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)


class SupplementaryInvoiceForm(forms.Form):
    """One extra line agreed after the invoice was issued (the common case: extra work)."""

    description = forms.CharField(label=_("Description"), max_length=300)
    quantity = forms.DecimalField(
        label=_("Quantity"), max_digits=14, decimal_places=4, min_value=Decimal("0.0001"), initial=1
    )
    unit = forms.CharField(label=_("Unit"), max_length=10, required=False)
    unit_price = forms.DecimalField(
        label=_("Unit price (net)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    reason = forms.CharField(label=_("Why the extra charge was agreed"), max_length=300)


class BankRefundExecutedForm(forms.Form):
    bank_reference = forms.CharField(label=_("Bank reference of the refund transfer"), max_length=100)


class CardPaymentForm(forms.Form):
    # Filled by Stripe.js (stripe.createPaymentMethod) on the payment page; a PaymentMethod id.
    payment_method = forms.RegexField(label=_("Card"), regex=r"^pm_[A-Za-z0-9_]{1,100}$", widget=forms.HiddenInput)


class BankPayoutForm(forms.Form):
    invoice = forms.IntegerField(widget=forms.HiddenInput)
    bank_reference = forms.CharField(label=_("Bank reference of the payout"), max_length=100)


class RefundFilterForm(forms.Form):
    q = forms.CharField(label=_("Invoice, party or Stripe id"), required=False, max_length=100)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("All")), ("full", _("Full, with credit note")), ("partial", _("Partial"))],
    )
    currency = forms.RegexField(label=_("Currency"), regex=r"^[A-Z]{3}$", required=False, max_length=3)


class ExplanationForm(forms.Form):
    note = forms.CharField(
        label=_("Explanation"),
        help_text=_("Why the difference is in order, for the auditors."),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=500,
    )
