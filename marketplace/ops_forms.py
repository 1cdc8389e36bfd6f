"""Forms of the operator console."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.money import format_money
from marketplace.selectors.audit import SUBJECT_TYPES


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class DisputeDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("full_refund", _("Full refund")),
            ("partial_refund", _("Partial refund")),
            ("redo", _("Redo: the provider makes the rejected parts again")),
            ("rejected", _("Claim rejected")),
        ],
        widget=forms.RadioSelect,
    )
    amount = forms.DecimalField(
        label=_("Amount to refund (gross, incl. VAT)"),
        help_text=_("Only for a partial refund."),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
    )
    note = forms.CharField(
        label=_("Explanation"),
        help_text=_("Both parties see this."),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
    )

    def __init__(self, *args, ceiling: Decimal | None = None, currency: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.ceiling, self.currency = ceiling, currency
        if ceiling is not None:
            self.fields["amount"].help_text = _("Only for a partial refund; at most %(ceiling)s.") % {
                "ceiling": format_money(ceiling, currency)
            }

    def clean(self):
        data = super().clean()
        decision, amount = data.get("decision"), data.get("amount")
        if decision == "partial_refund":
            if amount is None:
                self.add_error("amount", _("Enter the amount to refund."))
            elif self.ceiling is not None and amount > self.ceiling:
                self.add_error(
                    "amount",
                    _("At most %(ceiling)s can be refunded on this trade.")
                    % {"ceiling": format_money(self.ceiling, self.currency)},
                )
        elif amount is not None:
            self.add_error("amount", _("An amount goes with a partial refund only."))
        return data


class SuspensionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        help_text=_("The organisation's members see this."),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class LiftForm(forms.Form):
    reason = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class AuditFilterForm(forms.Form):
    who = forms.CharField(label=_("Who (e-mail)"), required=False, max_length=200)
    subject_type = forms.ChoiceField(
        label=_("Subject"), required=False, choices=[("", _("All")), *SUBJECT_TYPES.items()]
    )
    subject_id = forms.IntegerField(label=_("Subject id"), required=False, min_value=1)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(label=_("Text"), required=False, max_length=200)


class OrganisationSearchForm(forms.Form):
    q = forms.CharField(label=_("Name"), required=False, max_length=200)
