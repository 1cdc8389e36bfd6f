from django.contrib import admin

from capacity.models import (
    AvailabilityException,
    AvailabilityRule,
    Category,
    Certification,
    Material,
    Measurand,
    ProviderProfile,
    Resource,
    SpecAttribute,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "kind", "parent"]
    list_filter = ["kind"]
    search_fields = ["code", "name_zh", "name_en"]
    list_select_related = ["parent"]


@admin.register(SpecAttribute)
class SpecAttributeAdmin(admin.ModelAdmin):
    list_display = ["key", "label_zh", "label_en", "unit", "type", "typed"]
    list_filter = ["typed", "type"]
    search_fields = ["key", "label_zh", "label_en"]


@admin.register(Material)
class MaterialAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "family"]
    list_filter = ["family"]
    search_fields = ["code", "name_zh", "name_en"]


@admin.register(Measurand)
class MeasurandAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en"]
    search_fields = ["code", "name_zh", "name_en"]


class CertificationInline(admin.TabularInline):
    model = Certification
    extra = 0


@admin.register(ProviderProfile)
class ProviderProfileAdmin(admin.ModelAdmin):
    list_display = ["legal_name", "organisation", "credit_code", "province", "status", "submitted_at"]
    list_filter = ["status", "province"]
    search_fields = ["legal_name", "credit_code", "organisation__name"]
    inlines = [CertificationInline]
    readonly_fields = ["reviewed_at", "reviewed_by", "submitted_at"]


class AvailabilityRuleInline(admin.TabularInline):
    model = AvailabilityRule
    extra = 0


class AvailabilityExceptionInline(admin.TabularInline):
    model = AvailabilityException
    extra = 0


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "category", "status", "billing_unit", "rate", "currency"]
    list_filter = ["status", "kind", "billing_unit"]
    search_fields = ["name", "make", "model_name", "provider__name"]
    list_select_related = ["provider", "category"]
    autocomplete_fields = ["category"]
    filter_horizontal = ["materials"]
    readonly_fields = ["kind", "listed_at", "created_at", "updated_at"]
    inlines = [AvailabilityRuleInline, AvailabilityExceptionInline]
