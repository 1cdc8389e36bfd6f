"""Forms for the provider workspace and the operator queues. They validate input only; the
writes happen in capacity.services."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from capacity.models import Category, Certification, Material, Measurand, ProviderProfile, Resource, SpecAttribute
from capacity.reference import city_index, regions
from capacity.services.resources import SPEC_COLUMNS
from capacity.uploads import validate_document, validate_photo


def _english() -> bool:
    return (get_language() or "zh-hans").lower().startswith("en")


def province_choices() -> list[tuple[str, str]]:
    key = "name_en" if _english() else "name_zh"
    return [("", _("Choose a province"))] + [(p["code"], p[key]) for p in regions()]


def city_choices(province: str) -> list[tuple[str, str]]:
    key = "name_en" if _english() else "name_zh"
    cities = next((p["cities"] for p in regions() if p["code"] == province), [])
    return [("", _("Choose a city"))] + [(c["code"], c[key]) for c in cities]


class ProviderProfileForm(forms.ModelForm):
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    business_licence_upload = forms.FileField(
        label=_("Business licence"),
        required=False,
        help_text=_("PDF, JPEG or PNG, at most 10 MB."),
    )

    class Meta:
        model = ProviderProfile
        fields = [
            "legal_name",
            "credit_code",
            "province",
            "city",
            "address",
            "latitude",
            "longitude",
            "contact_name",
            "contact_phone",
            "contact_email",
            "website",
            "description",
            "deposit_percent",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"latitude": _("Filled in from the city when left blank.")}

    def __init__(self, *args, frozen: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        province = self.data.get("province") if self.is_bound else self.instance.province
        self.fields["province"] = forms.ChoiceField(label=_("Province"), choices=province_choices(), required=False)
        self.fields["province"].widget.attrs.update(
            {
                "hx-get": reverse("capacity:workspace_profile_cities"),
                "hx-target": "#id_city",
                "hx-trigger": "change",
                "hx-swap": "innerHTML",
            }
        )
        self.fields["city"] = forms.ChoiceField(label=_("City"), choices=city_choices(province or ""), required=False)
        self.fields["legal_name"].required = True
        # Optional: left blank means no deposit.
        self.fields["deposit_percent"].required = False
        if frozen:
            for name in ("legal_name", "credit_code"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Checked by Spindle; contact us to change it.")
            self.fields["business_licence_upload"].disabled = True

    def clean_deposit_percent(self):
        return self.cleaned_data.get("deposit_percent") or Decimal("0")

    def clean_credit_code(self):
        code = (self.cleaned_data.get("credit_code") or "").strip().upper() or None
        if code and ProviderProfile.objects.filter(credit_code=code).exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("Another provider is already registered with this unified social credit code."))
        return code

    def clean_business_licence_upload(self):
        upload = self.cleaned_data.get("business_licence_upload")
        if upload:
            validate_document(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        province, city = cleaned.get("province"), cleaned.get("city")
        if city and (province, city) not in city_index():
            self.add_error("city", _("Choose a city of the chosen province."))
        elif city and cleaned.get("latitude") is None and cleaned.get("longitude") is None:
            place = city_index()[(province, city)]
            cleaned["latitude"] = Decimal(str(place["lat"])).quantize(Decimal("0.000001"))
            cleaned["longitude"] = Decimal(str(place["lon"])).quantize(Decimal("0.000001"))
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            self.add_error("longitude", _("Give both latitude and longitude, or neither."))
        return cleaned

    def profile_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if not self.fields[name].disabled}


class PhotoForm(forms.Form):
    image = forms.FileField(label=_("Photo"), help_text=_("JPEG, PNG or WebP, at most 5 MB."))
    caption = forms.CharField(label=_("Caption"), max_length=200, required=False)

    def clean_image(self):
        image = self.cleaned_data["image"]
        validate_photo(image)
        return image


class CertificationForm(forms.ModelForm):
    document_upload = forms.FileField(
        label=_("Certificate document"), required=False, help_text=_("PDF, JPEG or PNG, at most 10 MB.")
    )

    class Meta:
        model = Certification
        fields = ["standard", "number", "issuer", "scope", "valid_from", "valid_until"]
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_until": forms.DateInput(attrs={"type": "date"}),
            "scope": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_document_upload(self):
        upload = self.cleaned_data.get("document_upload")
        if upload:
            validate_document(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("A certificate cannot expire before it becomes valid."))
        return cleaned

    def certification_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The provider sees this."),
        max_length=2000,
    )


def split_standards(text: str) -> list[str]:
    """Standards typed one per line or separated by commas (ASCII or Chinese) or semicolons."""
    return [s.strip() for s in re.split(r"[,\n;，；、]", text or "") if s.strip()]


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        return f"{obj.code} {obj.name}"


def json_number(value: Decimal) -> int | float:
    """extra_specs is JSON: whole numbers as integers, others as floats."""
    return int(value) if value == value.to_integral_value() else float(value)


# Typed spec columns that hold integers rather than decimals.
INTEGER_COLUMNS = {"axes", "spindle_speed_rpm"}


class ResourceForm(forms.Form):
    """A resource's details. The spec fields (``spec_<key>``) are those of the chosen category:
    typed keys map to Resource columns, the others to ``extra_specs``."""

    category = CategoryChoiceField(
        label=_("Category"),
        queryset=Category.objects.filter(parent__isnull=False).select_related("parent"),
        help_text=_("The spec fields below follow the category."),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    make = forms.CharField(label=_("Make"), max_length=100, required=False)
    model_name = forms.CharField(label=_("Model"), max_length=100, required=False)
    year = forms.IntegerField(label=_("Year built"), min_value=1950, max_value=2100, required=False)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    materials = forms.ModelMultipleChoiceField(
        label=_("Materials"),
        queryset=Material.objects.all(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Hold Ctrl (or ⌘) to choose several."),
    )
    standards = forms.CharField(
        label=_("Standards"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line or separated by commas, e.g. GB/T 1804, ISO 2768."),
    )
    billing_unit = forms.ChoiceField(label=_("Billing unit"), choices=Resource.BillingUnit.choices)
    rate = forms.DecimalField(label=_("Rate"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2)
    setup_fee = forms.DecimalField(
        label=_("Setup fee"), min_value=Decimal("0"), max_digits=12, decimal_places=2, initial=Decimal("0")
    )
    minimum_charge = forms.DecimalField(
        label=_("Minimum charge"), min_value=Decimal("0"), max_digits=12, decimal_places=2, initial=Decimal("0")
    )
    currency = forms.ChoiceField(label=_("Currency"))
    billing_increment_minutes = forms.IntegerField(
        label=_("Billing increment (minutes)"), min_value=1, max_value=1440, initial=15
    )
    cycle_time_minutes = forms.DecimalField(
        label=_("Typical cycle time per part (minutes)"),
        min_value=Decimal("0.01"),
        max_digits=9,
        decimal_places=2,
        required=False,
    )
    lead_time_buffer_hours = forms.IntegerField(
        label=_("Lead-time buffer (hours)"), min_value=0, max_value=32767, initial=24
    )
    capacity = forms.IntegerField(label=_("Parallel capacity"), min_value=1, max_value=100, initial=1)

    BASE_FIELDS = [
        "category",
        "name",
        "make",
        "model_name",
        "year",
        "description",
        "materials",
        "standards",
    ]
    RATE_FIELDS = [
        "billing_unit",
        "rate",
        "setup_fee",
        "minimum_charge",
        "currency",
        "billing_increment_minutes",
        "cycle_time_minutes",
        "lead_time_buffer_hours",
        "capacity",
    ]

    def __init__(self, *args, resource: Resource | None = None, category: Category | None = None, **kwargs):
        self.resource = resource
        if resource is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(resource)
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in settings.SPINDLE_CURRENCIES]
        if not self.is_bound and resource is None:
            self.initial.setdefault("currency", settings.SPINDLE_DEFAULT_CURRENCY)
        self.fields["category"].widget.attrs.update(
            {
                "hx-get": reverse("capacity:workspace_resource_spec_fields"),
                "hx-trigger": "change",
                "hx-target": "#spec-fields",
                "hx-swap": "outerHTML",
            }
        )
        self.category = category or self._chosen_category()
        self.spec_attributes = self._spec_attributes()
        for attribute in self.spec_attributes:
            self.fields[f"spec_{attribute.key}"] = self._spec_field(attribute)

    @staticmethod
    def initial_for(resource: Resource) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(resource, name) for name in ResourceForm.BASE_FIELDS + ResourceForm.RATE_FIELDS
        }
        initial["materials"] = list(resource.materials.all()) if resource.pk else []
        initial["standards"] = "\n".join(resource.standards or [])
        for key in SPEC_COLUMNS:
            initial[f"spec_{key}"] = getattr(resource, key)
        for key, value in (resource.extra_specs or {}).items():
            initial[f"spec_{key}"] = value
        return initial

    def _chosen_category(self) -> Category | None:
        raw = self.data.get("category") if self.is_bound else self.initial.get("category")
        if isinstance(raw, Category):
            return raw
        if raw in (None, ""):
            return None
        try:
            return Category.objects.filter(parent__isnull=False).get(pk=int(raw))
        except (ValueError, TypeError, Category.DoesNotExist):
            return None

    def _spec_attributes(self) -> list[SpecAttribute]:
        if self.category is None:
            return []
        keys = [k for k in self.category.attributes if k not in ("materials", "standards")]
        by_key = SpecAttribute.objects.in_bulk(keys, field_name="key")
        return [by_key[k] for k in keys if k in by_key]

    def _spec_field(self, attribute: SpecAttribute) -> forms.Field:
        label = f"{attribute.label} ({attribute.unit})" if attribute.unit else attribute.label
        if attribute.key == "measurand":
            return forms.ModelChoiceField(label=label, queryset=Measurand.objects.all(), required=False)
        if attribute.typed:
            model_field = Resource._meta.get_field(attribute.key)
            if attribute.key in INTEGER_COLUMNS:
                return forms.IntegerField(label=label, required=False, min_value=0, max_value=2147483647)
            if isinstance(model_field, models.CharField):
                return forms.CharField(label=label, required=False, max_length=model_field.max_length)
            return forms.DecimalField(
                label=label,
                required=False,
                max_digits=model_field.max_digits,
                decimal_places=model_field.decimal_places,
            )
        if attribute.type == SpecAttribute.Type.NUMBER:
            return forms.DecimalField(label=label, required=False, max_digits=16, decimal_places=6)
        return forms.CharField(label=label, required=False, max_length=200)

    @property
    def spec_fields(self):
        return [self[f"spec_{a.key}"] for a in self.spec_attributes]

    @property
    def base_fields_bound(self):
        return [self[name] for name in self.BASE_FIELDS]

    @property
    def rate_fields_bound(self):
        return [self[name] for name in self.RATE_FIELDS]

    def clean(self):
        cleaned = super().clean()
        for low, high in (("range_min", "range_max"), ("temperature_min_c", "temperature_max_c")):
            a, b = cleaned.get(f"spec_{low}"), cleaned.get(f"spec_{high}")
            if a is not None and b is not None and b < a:
                self.add_error(f"spec_{high}", _("The upper limit must not be below the lower limit."))
        if cleaned.get("billing_unit") == Resource.BillingUnit.PART and not cleaned.get("cycle_time_minutes"):
            self.add_error("cycle_time_minutes", _("Give the typical cycle time when billing per part."))
        return cleaned

    def resource_fields(self) -> dict[str, Any]:
        """The cleaned values as Resource field values (specs of other categories cleared)."""
        data = self.cleaned_data
        fields: dict[str, Any] = {
            name: data[name] for name in self.BASE_FIELDS + self.RATE_FIELDS if name not in ("materials", "standards")
        }
        for name in ("make", "model_name", "description"):
            fields[name] = fields[name] or ""
        fields["standards"] = split_standards(data.get("standards", ""))
        keys = {a.key: a for a in self.spec_attributes}
        for column in SPEC_COLUMNS:
            value = data.get(f"spec_{column}") if column in keys else None
            if column in ("range_unit", "uncertainty", "accreditation_ref"):
                value = value or ""
            fields[column] = value
        extra = {}
        for key, attribute in keys.items():
            if attribute.typed:
                continue
            value = data.get(f"spec_{key}")
            if value in (None, ""):
                continue
            extra[key] = json_number(value) if isinstance(value, Decimal) else value
        fields["extra_specs"] = extra
        return fields

    def materials_list(self) -> list[Material]:
        return list(self.cleaned_data.get("materials") or [])


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or Excel file"),
        help_text=_("Use the template: one resource per row, at most 10 MB."),
    )
