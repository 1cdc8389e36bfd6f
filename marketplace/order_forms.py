"""Forms of the order wizard and the order pages. They validate input; services write."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from capacity.models import Category, Certification, Material, Measurand
from capacity.reference import regions
from marketplace import drawings
from marketplace.models import Order, Organisation

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _english() -> bool:
    return (get_language() or "zh-hans").lower().startswith("en")


def _grouped(queryset, group_of, label_of=str) -> list:
    """Choices grouped into optgroups (keyboard- and screen-reader-friendly native selects)."""
    groups: dict[str, list] = {}
    for obj in queryset:
        groups.setdefault(group_of(obj), []).append((obj.pk, label_of(obj)))
    return [("", "---------"), *groups.items()]


class WhatForm(forms.ModelForm):
    """Step 1: what is wanted. The category is a major (any of its minors) or one minor."""

    major = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.filter(parent__isnull=True), empty_label=_("Choose…")
    )
    minor = forms.ModelChoiceField(
        label=_("Subcategory"),
        queryset=Category.objects.filter(parent__isnull=False),
        required=False,
        empty_label=_("Any subcategory"),
        help_text=_("Leave at “any” to let providers of every subcategory answer."),
    )

    class Meta:
        model = Order
        fields = [
            "kind",
            "title",
            "description",
            "quantity",
            "material",
            "material_note",
            "billing_preference",
            "material_supply",
            "material_budget",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "billing_preference": forms.RadioSelect,
            "material_supply": forms.RadioSelect,
        }
        help_texts = {
            "material_note": _("Grade, state or anything the list does not say."),
            "material_budget": _("Only when the provider supplies the material; priced as its own line."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        order = self.instance
        if order.pk and order.category_id and not self.is_bound:
            category = order.category
            self.initial["major"] = category.pk if category.is_major else category.parent_id
            self.initial["minor"] = None if category.is_major else category.pk
        # Changing the kind or the category reloads the category selects (htmx); the ids stay
        # the same, so keyboard focus stays where it was.
        for name in ("kind", "major"):
            self.fields[name].widget.attrs.update(
                {
                    "hx-get": reverse("order_category_options"),
                    "hx-trigger": "change",
                    "hx-include": "#id_kind, #id_major",
                    "hx-target": "#category-fields",
                    "hx-swap": "outerHTML",
                    # Arrowing through the options fires a change per step: the newest request
                    # replaces one still in flight, so the selects settle on the last choice.
                    "hx-sync": "this:replace",
                }
            )
        self.fields["material"].required = False
        self.fields["material"].choices = _grouped(
            Material.objects.order_by("family", "code"), lambda m: m.family, lambda m: m.name
        )
        self.fields["quantity"].widget.attrs["min"] = 1
        # The page's order, so the error summary lists problems top to bottom.
        self.order_fields(["kind", "major", "minor", *self.Meta.fields[1:]])
        self._narrow_categories()

    def _value(self, name):
        if self.is_bound:
            return self.data.get(self.add_prefix(name)) or None
        return self.initial.get(name) or (getattr(self.instance, name, None) if name == "kind" else None)

    def _narrow_categories(self) -> None:
        kind, major = self._value("kind"), self._value("major")
        majors = Category.objects.filter(parent__isnull=True)
        if kind:
            majors = majors.filter(kind=kind)
        self.fields["major"].queryset = majors
        self.fields["major"].label_from_instance = lambda c: c.name
        if major and str(major).isdigit():
            self.fields["minor"].queryset = Category.objects.filter(parent_id=major)
        else:
            self.fields["minor"].queryset = Category.objects.none()
        self.fields["minor"].label_from_instance = lambda c: c.name

    def clean(self):
        cleaned = super().clean()
        kind, major, minor = cleaned.get("kind"), cleaned.get("major"), cleaned.get("minor")
        if major and kind and major.kind != kind:
            self.add_error("major", _("Choose a category of this kind."))
        if minor and major and minor.parent_id != major.pk:
            self.add_error("minor", _("Choose a subcategory of the chosen category."))
        if (
            cleaned.get("material_budget") is not None
            and cleaned.get("material_supply") != Order.MaterialSupply.PROVIDER_SUPPLIED
        ):
            self.add_error("material_budget", _("A material budget only applies when the provider supplies it."))
        return cleaned

    def changes(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["category"] = self.cleaned_data.get("minor") or self.cleaned_data["major"]
        return data


class SpecForm(forms.ModelForm):
    """Step 2: the specification. Production needs the part's size; testing and metrology
    need the measurand and range."""

    certifications = forms.MultipleChoiceField(
        label=_("Required certifications"),
        choices=Certification.Standard.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Order
        fields = [
            "envelope_x_mm",
            "envelope_y_mm",
            "envelope_z_mm",
            "weight_kg",
            "tolerance_mm",
            "cycle_time_minutes",
            "certifications",
            "measurand",
            "range_min",
            "range_max",
            "range_unit",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        order = self.instance
        if order.is_measurement:
            for name in ("measurand", "range_min", "range_max", "range_unit"):
                self.fields[name].required = True
            self.fields["measurand"].queryset = Measurand.objects.order_by("code")
            self.fields["measurand"].label_from_instance = lambda m: m.name
        else:
            for name in ("measurand", "range_min", "range_max", "range_unit"):
                del self.fields[name]
            for name in ("envelope_x_mm", "envelope_y_mm", "envelope_z_mm"):
                self.fields[name].required = True

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("range_min"), cleaned.get("range_max")
        if low is not None and high is not None and high < low:
            self.add_error("range_max", _("The end of the range must not be below its start."))
        return cleaned

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.fields}


class NdaForm(forms.ModelForm):
    """Step 3 (beside the uploads): whether providers must accept an NDA first."""

    class Meta:
        model = Order
        fields = ["nda_required", "nda_text"]
        widgets = {"nda_text": forms.Textarea(attrs={"rows": 5})}
        help_texts = {"nda_text": _("Providers see this text and must accept it before opening any drawing.")}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("nda_required") and not (cleaned.get("nda_text") or "").strip():
            self.add_error("nda_text", _("Write the NDA text providers must accept."))
        return cleaned

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Drawing or model file"),
        help_text=_("PDF, STEP/STP, IGES/IGS, STL, DXF, DWG or an image (PNG, JPEG, WebP, TIFF)."),
        widget=forms.ClearableFileInput(attrs={"accept": drawings.ACCEPT_ATTRIBUTE}),
    )


def location_choices() -> list:
    english = _english()
    groups = [("", "---------")]
    for province in regions():
        label = province["name_en"] if english else province["name_zh"]
        cities = [
            (f"{province['code']}:{city['code']}", city["name_en"] if english else city["name_zh"])
            for city in province["cities"]
        ]
        groups.append((label, cities))
    return groups


class DeliveryForm(forms.ModelForm):
    """Step 4: when and where, and what it may cost (the budget is never shown to providers)."""

    due_at = forms.DateTimeField(
        label=_("Due date"),
        input_formats=[DATETIME_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        help_text=_("When the parts or results must be delivered (your organisation's time zone)."),
    )
    location = forms.ChoiceField(label=_("Delivery city"), required=False)
    currency = forms.ChoiceField(label=_("Currency"))

    class Meta:
        model = Order
        fields = ["due_at", "address", "latitude", "longitude", "budget", "currency"]
        help_texts = {"budget": _("The most you will pay, before VAT. Providers never see it.")}

    def __init__(self, *args, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now
        self.fields["location"].choices = location_choices()
        self.fields["currency"].choices = [(c, c) for c in settings.SPINDLE_CURRENCIES]
        order = self.instance
        if order.province and order.city and not self.is_bound:
            self.initial["location"] = f"{order.province}:{order.city}"
        self.order_fields(["due_at", "location", "address", "latitude", "longitude", "budget", "currency"])

    def clean_due_at(self):
        due_at = self.cleaned_data["due_at"]
        if due_at <= (self.now or timezone.now()):
            raise forms.ValidationError(_("The due date must be in the future."))
        return due_at

    def changes(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        province, _sep, city = (self.cleaned_data.get("location") or "").partition(":")
        data.update(province=province, city=city)
        return data


class ShareForm(forms.Form):
    provider = forms.ModelChoiceField(label=_("Provider"), queryset=Organisation.objects.none())

    def __init__(self, *args, providers=None, **kwargs):
        super().__init__(*args, **kwargs)
        if providers is not None:
            self.fields["provider"].queryset = providers


class CancelForm(forms.Form):
    note = forms.CharField(label=_("Reason (optional)"), required=False, max_length=500)


class StatusFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *Order.Status.choices])
