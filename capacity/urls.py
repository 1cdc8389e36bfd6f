"""Capacity routes. Each area keeps its own block; add new routes to tests/test_scoping.py."""

from django.urls import path  # noqa: F401

app_name = "capacity"

urlpatterns: list = [
    # --- catalogue (public) ---
    # --- provider workspace ---
    # --- availability calendar ---
    # --- operator review ---
]
