"""Capacity routes. Each area keeps its own block; add new routes to tests/test_scoping.py."""

from django.urls import path

from capacity import api_metering, views_metering
from capacity.views import calendar, catalogue, operator, workspace

app_name = "capacity"

urlpatterns: list = [
    # --- catalogue (public) ---
    path("catalogue/", catalogue.catalogue_browse, name="catalogue"),
    path("catalogue/resources/", catalogue.catalogue_list, name="catalogue_list"),
    path("catalogue/resources/<int:pk>/", catalogue.resource_detail, name="catalogue_resource"),
    path("catalogue/photos/<int:photo_id>/", catalogue.resource_photo, name="catalogue_photo"),
    path("providers/<slug:slug>/", catalogue.provider_profile, name="provider_public"),
    path("providers/<slug:slug>/photos/<int:photo_id>/", catalogue.provider_photo, name="provider_photo"),
    # --- provider workspace ---
    path("workspace/profile/", workspace.workspace_profile, name="workspace_profile"),
    path("workspace/profile/cities/", workspace.workspace_profile_cities, name="workspace_profile_cities"),
    path("workspace/profile/submit/", workspace.workspace_profile_submit, name="workspace_profile_submit"),
    path("workspace/profile/photos/", workspace.workspace_profile_photo_add, name="workspace_profile_photo_add"),
    path(
        "workspace/profile/photos/<int:photo_id>/delete/",
        workspace.workspace_profile_photo_delete,
        name="workspace_profile_photo_delete",
    ),
    path(
        "workspace/certifications/new/",
        workspace.workspace_certification_create,
        name="workspace_certification_create",
    ),
    path(
        "workspace/certifications/<int:certification_id>/",
        workspace.workspace_certification_edit,
        name="workspace_certification_edit",
    ),
    path(
        "workspace/certifications/<int:certification_id>/delete/",
        workspace.workspace_certification_delete,
        name="workspace_certification_delete",
    ),
    path("workspace/files/<str:kind>/<int:file_id>/", workspace.workspace_file, name="workspace_file"),
    path("workspace/resources/", workspace.workspace_resources, name="workspace_resources"),
    path("workspace/resources/new/", workspace.workspace_resource_create, name="workspace_resource_create"),
    path(
        "workspace/resources/spec-fields/",
        workspace.workspace_resource_spec_fields,
        name="workspace_resource_spec_fields",
    ),
    path("workspace/resources/import/", workspace.workspace_resource_import, name="workspace_resource_import"),
    path(
        "workspace/resources/import/template.csv",
        workspace.workspace_import_template_csv,
        name="workspace_import_template_csv",
    ),
    path(
        "workspace/resources/import/template.xlsx",
        workspace.workspace_import_template_xlsx,
        name="workspace_import_template_xlsx",
    ),
    path("workspace/resources/export.csv", workspace.workspace_export_csv, name="workspace_export_csv"),
    path("workspace/resources/export.xlsx", workspace.workspace_export_xlsx, name="workspace_export_xlsx"),
    path("workspace/resources/<int:resource_id>/", workspace.workspace_resource_edit, name="workspace_resource_edit"),
    path(
        "workspace/resources/<int:resource_id>/submit/",
        workspace.workspace_resource_submit,
        name="workspace_resource_submit",
    ),
    path(
        "workspace/resources/<int:resource_id>/pause/",
        workspace.workspace_resource_pause,
        name="workspace_resource_pause",
    ),
    path(
        "workspace/resources/<int:resource_id>/resume/",
        workspace.workspace_resource_resume,
        name="workspace_resource_resume",
    ),
    path(
        "workspace/resources/<int:resource_id>/retire/",
        workspace.workspace_resource_retire,
        name="workspace_resource_retire",
    ),
    path(
        "workspace/resources/<int:resource_id>/photos/",
        workspace.workspace_resource_photo_add,
        name="workspace_resource_photo_add",
    ),
    path(
        "workspace/resources/<int:resource_id>/photos/<int:photo_id>/delete/",
        workspace.workspace_resource_photo_delete,
        name="workspace_resource_photo_delete",
    ),
    # --- availability calendar ---
    path("workspace/resources/<int:resource_id>/calendar/", calendar.resource_calendar, name="resource_calendar"),
    path(
        "workspace/resources/<int:resource_id>/calendar/exceptions/",
        calendar.resource_exception_add,
        name="resource_exception_add",
    ),
    path(
        "workspace/resources/<int:resource_id>/calendar/exceptions/<int:exception_id>/delete/",
        calendar.resource_exception_delete,
        name="resource_exception_delete",
    ),
    path("workspace/utilisation/", calendar.utilisation, name="utilisation"),
    path(
        "workspace/resources/<int:resource_id>/utilisation/",
        calendar.resource_utilisation,
        name="resource_utilisation",
    ),
    # --- operator review ---
    path("ops/providers/", operator.ops_providers, name="ops_providers"),
    path("ops/providers/<int:profile_id>/", operator.ops_provider, name="ops_provider"),
    path("ops/providers/<int:profile_id>/approve/", operator.ops_provider_approve, name="ops_provider_approve"),
    path("ops/providers/<int:profile_id>/reject/", operator.ops_provider_reject, name="ops_provider_reject"),
    path("ops/providers/<int:profile_id>/suspend/", operator.ops_provider_suspend, name="ops_provider_suspend"),
    path("ops/providers/<int:profile_id>/reinstate/", operator.ops_provider_reinstate, name="ops_provider_reinstate"),
    path("ops/listings/", operator.ops_listings, name="ops_listings"),
    path("ops/listings/<int:resource_id>/", operator.ops_listing, name="ops_listing"),
    path("ops/listings/<int:resource_id>/approve/", operator.ops_listing_approve, name="ops_listing_approve"),
    path("ops/listings/<int:resource_id>/reject/", operator.ops_listing_reject, name="ops_listing_reject"),
    path("ops/files/<str:kind>/<int:file_id>/", operator.ops_file, name="ops_file"),
    # --- metering: devices, usage, ingestion ---
    path("workspace/devices/", views_metering.device_list, name="device_list"),
    path("workspace/devices/new/", views_metering.device_create, name="device_create"),
    path("workspace/devices/<int:device_id>/", views_metering.device_detail, name="device_detail"),
    path("workspace/devices/<int:device_id>/rotate/", views_metering.device_rotate, name="device_rotate"),
    path("workspace/devices/<int:device_id>/revoke/", views_metering.device_revoke, name="device_revoke"),
    path("workspace/devices/<int:device_id>/resources/", views_metering.device_resources, name="device_resources"),
    path("workspace/usage/bookings/<int:booking_id>/", views_metering.booking_usage, name="booking_usage"),
    path("api/v1/devices/readings/", api_metering.device_readings, name="device_readings_api"),
]
