"""Capacity routes. Each area keeps its own block; add new routes to tests/test_scoping.py."""

from django.urls import path

from capacity.views import catalogue

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
    # --- availability calendar ---
    # --- operator review ---
]
