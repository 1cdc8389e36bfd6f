"""Forms of the operator console."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.selectors.audit import SUBJECT_TYPES


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class DisputeDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("redo", _("Redo: the provider makes the rejected parts again")),
            ("rejected", _("Claim rejected")),
            ("refund_pending", _("Refund due (settled when billing lands)")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Explanation"),
        help_text=_("Both parties see this."),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
    )


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
