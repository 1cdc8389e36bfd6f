from django.contrib import admin

from capacity.models import (
    AvailabilityException,
    AvailabilityRule,
    Booking,
    Category,
    Certification,
    Material,
    Measurand,
    ProviderProfile,
    Resource,
    ReviewEvent,
    SpecAttribute,
)
from marketplace.admin_base import ReadOnlyAdmin


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


# --- Metering: devices (secrets never shown), immutable readings, derived usage ---
from capacity.models import BookingUsage, Device, JobReport, MeterReading, UsageAdjustment  # noqa: E402


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "kind", "last_seen_at", "last_clock_skew_s", "revoked_at"]
    list_filter = ["kind"]
    search_fields = ["name", "provider__name"]
    list_select_related = ["provider"]
    exclude = ["secret_encrypted"]
    readonly_fields = ["secret_hint", "created_at", "rotated_at", "revoked_at", "last_seen_at", "last_clock_skew_s"]
    raw_id_fields = ["provider", "resources"]


@admin.register(MeterReading)
class MeterReadingAdmin(admin.ModelAdmin):
    """Read-only: readings are the billing record (the database refuses changes anyway)."""

    list_display = ["device", "resource", "boot_id", "seq", "device_time", "received_at", "run_seconds", "part_count"]
    list_select_related = ["device", "resource"]
    search_fields = ["boot_id"]


@admin.register(BookingUsage)
class BookingUsageAdmin(admin.ModelAdmin):
    list_display = ["booking", "run_seconds", "parts", "overrun_run_seconds", "source", "final", "computed_at"]
    list_filter = ["final", "source"]
    readonly_fields = [f.name for f in BookingUsage._meta.fields]

    def has_add_permission(self, request):
        return False


admin.site.register(UsageAdjustment)
admin.site.register(JobReport)


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdmin):
    """Bookings change only through the booking service (locks, exclusion constraint)."""

    list_display = ["resource", "span", "status", "hold_expires_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["resource__name", "resource__provider__name"]
    list_select_related = ["resource"]


@admin.register(ReviewEvent)
class ReviewEventAdmin(ReadOnlyAdmin):
    list_display = ["subject_type", "subject_id", "from_status", "to_status", "actor", "created_at"]
    list_filter = ["subject_type", "to_status"]
