"""Capacity routes. Each area keeps its own block; add new routes to tests/test_scoping.py."""

from django.urls import path

from capacity.views import calendar

app_name = "capacity"

urlpatterns: list = [
    # --- catalogue (public) ---
    # --- provider workspace ---
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
]
