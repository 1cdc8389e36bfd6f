"""Catalogue facets (django-filter). Buyers' GET parameters become SQL through the selectors in
capacity.selectors.catalogue; fields that only make sense together (the part's size, a point
and radius, a free period) are validated together by the form and applied in
``filter_queryset``."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import django_filters
from django import forms
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from capacity.models import Category, Certification, Material
from capacity.reference import regions
from capacity.selectors import catalogue as selectors

MAX_FREE_PERIOD_DAYS = 92


def _english() -> bool:
    return (get_language() or "zh-hans").lower().startswith("en")


def category_choices():
    """Grouped by major (production, testing, metrology): the major itself meaning all of its
    minors, then its minors. One query."""
    english = _english()
    kinds = dict(Category.Kind.choices)
    order = {kind: i for i, kind in enumerate(Category.Kind.values)}
    groups: dict[int, tuple[str, str, list]] = {}
    rows = Category.objects.order_by("code").values_list("pk", "code", "kind", "parent_id", "name_en", "name_zh")
    for pk, code, kind, parent_id, name_en, name_zh in rows:
        name = name_en if english else name_zh
        if parent_id is None:
            options = [(code, _("All of %(name)s") % {"name": name})]
            groups[pk] = (kind, f"{kinds[kind]} · {name}", options)
        elif parent_id in groups:
            groups[parent_id][2].append((code, f"{code} {name}"))
    ranked = sorted(groups.values(), key=lambda group: order[group[0]])
    return [(label, options) for _kind, label, options in ranked]


def province_choices():
    english = _english()
    return [(p["code"], p["name_en"] if english else p["name_zh"]) for p in regions()]


def city_choices():
    """Grouped by province; the value is ``PROVINCE-CITY`` (city codes repeat across provinces)."""
    english = _english()
    return [
        (
            p["name_en"] if english else p["name_zh"],
            [(f"{p['code']}-{c['code']}", c["name_en"] if english else c["name_zh"]) for c in p["cities"]],
        )
        for p in regions()
    ]


class SortChoices:
    PRICE = "price"
    SOONEST = "soonest"
    DISTANCE = "distance"
    NEWEST = "newest"

    @classmethod
    def choices(cls):
        return [
            (cls.PRICE, _("Price (lowest rate first)")),
            (cls.SOONEST, _("Soonest free")),
            (cls.DISTANCE, _("Distance (needs a point)")),
            (cls.NEWEST, _("Newest")),
        ]


class CatalogueFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        lat, lon, radius = data.get("lat"), data.get("lon"), data.get("radius_km")
        if (lat is None) != (lon is None):
            raise forms.ValidationError(_("Give both latitude and longitude, or neither."), code="point")
        if radius is not None and lat is None:
            self.add_error("radius_km", _("A radius needs a point (latitude and longitude)."))
        if data.get("sort") == SortChoices.DISTANCE and lat is None:
            self.add_error("sort", _("Sorting by distance needs a point (latitude and longitude)."))
        start, end, hours = data.get("free_from"), data.get("free_to"), data.get("free_hours")
        if (start is None) != (end is None):
            raise forms.ValidationError(_("Give both dates of the free period, or neither."), code="period")
        if start is not None and end is not None:
            if end <= start:
                self.add_error("free_to", _("The end date must be after the start date."))
            elif (end - start).days > MAX_FREE_PERIOD_DAYS:
                self.add_error(
                    "free_to", _("The free period can be at most %(days)s days.") % {"days": MAX_FREE_PERIOD_DAYS}
                )
            elif hours is not None and hours > (end - start).days * 24:
                self.add_error("free_hours", _("That is more hours than the period has."))
        elif hours is not None:
            self.add_error("free_hours", _("Hours free need a period (both dates)."))
        city = data.get("city")
        if city and data.get("province") and not city.startswith(f"{data['province']}-"):
            self.add_error("city", _("That city is not in the chosen province."))
        return data


def _attrs(attrs: dict) -> str:
    """``django/forms/widgets/attrs.html`` in Python."""
    html = []
    for name, value in attrs.items():
        if value is False:
            continue
        html.append(f" {conditional_escape(name)}")
        if value is not True:
            html.append(f'="{conditional_escape(str(value))}"')
    return "".join(html)


class OptionsSelect(forms.Select):
    """``forms.Select`` with Django's markup byte for byte, written in Python rather than by one
    template include per option: the facets list hundreds of options (cities, categories), and
    rendering them option by option through templates was most of the catalogue page's time."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        html = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                html.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            for option in options:
                # The option template ends with a newline, hence the blank line between options.
                html.append(
                    f'\n  <option value="{conditional_escape(str(option["value"]))}"{_attrs(option["attrs"])}>'
                    f"{conditional_escape(option['label'])}</option>\n"
                )
            if group_name:
                html.append("\n  </optgroup>")
        html.append("\n</select>")
        return mark_safe("".join(html))  # noqa: S308 — every value above is escaped


def _constant(value):
    """A callable returning ``value`` (functions are not deep-copied; their arguments would be)."""
    return lambda: value


def _noop(queryset, name, value):
    """Fields applied together in CatalogueFilter.filter_queryset."""
    return queryset


class CatalogueFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), method=_noop, max_length=100, widget=forms.TextInput(attrs={"type": "search"})
    )
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=Category.Kind.choices, empty_label=_("Any kind"), widget=OptionsSelect
    )
    category = django_filters.ChoiceFilter(
        label=_("Category"),
        choices=category_choices,
        method="filter_category",
        empty_label=_("Any category"),
        widget=OptionsSelect,
    )
    material = django_filters.ModelChoiceFilter(
        label=_("Material"),
        queryset=Material.objects.order_by("family", "code"),
        to_field_name="code",
        method="filter_material",
        empty_label=_("Any material"),
        widget=OptionsSelect,
    )
    part_x = django_filters.NumberFilter(label=_("Part size X (mm)"), method=_noop, min_value=0)
    part_y = django_filters.NumberFilter(label=_("Part size Y (mm)"), method=_noop, min_value=0)
    part_z = django_filters.NumberFilter(label=_("Part size Z (mm)"), method=_noop, min_value=0)
    tolerance = django_filters.NumberFilter(
        label=_("Tolerance needed (± mm)"), field_name="tolerance_mm", lookup_expr="lte", min_value=0
    )
    max_rate = django_filters.NumberFilter(label=_("Maximum rate"), field_name="rate", lookup_expr="lte", min_value=0)
    province = django_filters.ChoiceFilter(
        label=_("Province"),
        choices=province_choices,
        field_name="provider__provider_profile__province",
        empty_label=_("Any province"),
        widget=OptionsSelect,
    )
    city = django_filters.ChoiceFilter(
        label=_("City"), choices=city_choices, method="filter_city", empty_label=_("Any city"), widget=OptionsSelect
    )
    lat = django_filters.NumberFilter(label=_("Latitude"), method=_noop, min_value=-90, max_value=90)
    lon = django_filters.NumberFilter(label=_("Longitude"), method=_noop, min_value=-180, max_value=180)
    radius_km = django_filters.NumberFilter(label=_("Within (km)"), method=_noop, min_value=0)
    certification = django_filters.ChoiceFilter(
        label=_("Certificate held"),
        choices=Certification.Standard.choices,
        method="filter_certification",
        empty_label=_("Any or none"),
        widget=OptionsSelect,
    )
    free_from = django_filters.DateFilter(
        label=_("Free from"), method=_noop, widget=forms.DateInput(attrs={"type": "date"})
    )
    free_to = django_filters.DateFilter(
        label=_("Free until"),
        method=_noop,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The end date is not included."),
    )
    free_hours = django_filters.NumberFilter(label=_("At least hours free"), method=_noop, min_value=0)
    sort = django_filters.ChoiceFilter(
        label=_("Sort by"),
        choices=SortChoices.choices,
        method=_noop,
        empty_label=_("Best match / newest"),
        widget=OptionsSelect,
    )

    class Meta:
        form = CatalogueFilterForm
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, now: datetime | None = None, **kwargs):
        self.now = now or timezone.now()
        super().__init__(data, queryset, **kwargs)
        # Callable choices are called again on every iteration (validation, then rendering):
        # build these lists once per request (in its language) instead. Still handed over as a
        # callable: a form field deep-copies a list of choices, and these run to hundreds.
        for name, choices in (("category", category_choices), ("province", province_choices), ("city", city_choices)):
            self.filters[name].extra["choices"] = _constant(choices())

    def filter_category(self, queryset, name, value):
        return selectors.in_category(queryset, code=value)

    def filter_material(self, queryset, name, value):
        return selectors.with_material(queryset, code=value.code)

    def filter_city(self, queryset, name, value):
        province, city = value.split("-", 1)
        return queryset.filter(provider__provider_profile__province=province, provider__provider_profile__city=city)

    def filter_certification(self, queryset, name, value):
        return selectors.with_valid_certificate(queryset, standard=value, day=self.local_today)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(timezone.get_default_timezone_name())

    @property
    def local_today(self) -> date:
        return self.now.astimezone(self.zone).date()

    @property
    def has_point(self) -> bool:
        data = getattr(self.form, "cleaned_data", {})
        return data.get("lat") is not None and data.get("lon") is not None

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        dimensions = [data[k] for k in ("part_x", "part_y", "part_z") if data.get(k) is not None]
        if dimensions:
            queryset = selectors.fitting_part(queryset, dimensions=dimensions)
        if self.has_point:
            if data.get("radius_km") is not None:
                queryset = selectors.within_radius(
                    queryset, lat=data["lat"], lon=data["lon"], radius_km=data["radius_km"]
                )
            else:
                queryset = selectors.with_distance(queryset, lat=data["lat"], lon=data["lon"])
        if data.get("free_from") and data.get("free_to"):
            start = datetime.combine(data["free_from"], time.min, tzinfo=self.zone)
            end = datetime.combine(data["free_to"], time.min, tzinfo=self.zone)
            queryset = selectors.free_for(queryset, start=start, end=end, hours=data.get("free_hours"))
        q = (data.get("q") or "").strip()
        if q:
            queryset = selectors.matching(queryset, q=q)
        sort = data.get("sort") or ("relevance" if q else SortChoices.NEWEST)
        return selectors.sorted_by(queryset, sort=sort)
