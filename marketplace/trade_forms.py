"""Forms of the trade pages, RFQs and quotes. They validate input; services write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace import drawings
from marketplace.models import Trade

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _when(label, **kwargs) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=[DATETIME_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        **kwargs,
    )


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=Trade.Status.choices, widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class DeliveryForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=100, required=False)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=100, required=False)
    delivered = forms.BooleanField(label=_("The parts have been delivered"), required=False)


class InspectionForm(forms.Form):
    accepted = forms.IntegerField(label=_("Accepted parts"), min_value=0)
    rejected = forms.IntegerField(label=_("Rejected parts"), min_value=0, initial=0)
    reasons = forms.CharField(
        label=_("Reasons for rejection"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    report = forms.FileField(
        label=_("Inspection report (FAI, CMM…)"),
        required=False,
        help_text=_("Optional. PDF or image; kept private to both parties."),
        widget=forms.ClearableFileInput(attrs={"accept": drawings.ACCEPT_ATTRIBUTE}),
    )


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Message"), required=False, max_length=8000, widget=forms.Textarea(attrs={"rows": 3})
    )


class RescheduleForm(forms.Form):
    start = _when(_("New start"))
    end = _when(_("New end"))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise forms.ValidationError(_("The new slot must end after it starts."))
        return data


class NoShowForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=1000)


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        coerce=int,
        choices=[(n, "★" * n + f" ({n}/5)") for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    text = forms.CharField(label=_("Review"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class RFQForm(forms.Form):
    providers = forms.ModelMultipleChoiceField(label=_("Providers"), queryset=None, widget=forms.CheckboxSelectMultiple)
    message = forms.CharField(
        label=_("Message to providers"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    respond_by = _when(_("Answer by"), required=False)

    def __init__(self, *args, providers=None, limit: int = 5, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["providers"].queryset = providers
        self.fields["providers"].help_text = _("Up to %(max)s providers.") % {"max": limit}
        self.limit = limit

    def clean_providers(self):
        providers = self.cleaned_data["providers"]
        if len(providers) > self.limit:
            raise forms.ValidationError(_("Choose at most %(max)s providers.") % {"max": self.limit})
        return providers


class QuoteForm(forms.Form):
    resource = forms.ModelChoiceField(label=_("Resource"), queryset=None, empty_label=_("Choose…"))
    work = forms.DecimalField(label=_("Machining or service"), min_value=0, decimal_places=2, max_digits=14)
    setup = forms.DecimalField(label=_("Setup"), min_value=0, decimal_places=2, max_digits=14, required=False)
    material = forms.DecimalField(label=_("Material"), min_value=0, decimal_places=2, max_digits=14, required=False)
    freight = forms.DecimalField(label=_("Freight"), min_value=0, decimal_places=2, max_digits=14, required=False)
    lead_time_days = forms.IntegerField(label=_("Lead time (days)"), min_value=0, max_value=365)
    slot_start = _when(_("Proposed start"))
    slot_end = _when(_("Proposed end"))
    valid_until = _when(_("Valid until"))
    notes = forms.CharField(label=_("Notes"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, resources=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resource"].queryset = resources

    def lines(self) -> list[dict]:
        data = self.cleaned_data
        lines = [{"code": "work", "label": str(_("Machining or service")), "amount": str(data["work"])}]
        for code, label in (("setup", _("Setup")), ("material", _("Material")), ("freight", _("Freight"))):
            if data.get(code):
                lines.append({"code": code, "label": str(label), "amount": str(data[code])})
        return lines


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class SideFilterForm(forms.Form):
    side = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[("", _("All trades")), ("buyer", _("As buyer")), ("provider", _("As provider"))],
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *Trade.Status.choices])


class JobReportForm(forms.Form):
    """The provider's usage report for a booking on a machine without telemetry."""

    run_hours = forms.DecimalField(
        label=_("Run time (hours)"), min_value=0, max_digits=7, decimal_places=2, help_text=_("For example 6.5.")
    )
    parts = forms.IntegerField(label=_("Parts made"), min_value=0)
    evidence = forms.FileField(
        label=_("Evidence"),
        required=False,
        help_text=_("A photo of the machine's counter or a PDF log; checked by content, private to both parties."),
        widget=forms.ClearableFileInput(attrs={"accept": drawings.ACCEPT_ATTRIBUTE}),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    @property
    def run_seconds(self) -> int:
        return int(self.cleaned_data["run_hours"] * 3600)


class JobReportDisputeForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you dispute it?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
