"""Capacity routes. Each area keeps its own block; add new routes to tests/test_scoping.py."""

from django.urls import path

from capacity import api_metering, views_metering

app_name = "capacity"

urlpatterns: list = [
    # --- catalogue (public) ---
    # --- provider workspace ---
    # --- availability calendar ---
    # --- operator review ---
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
