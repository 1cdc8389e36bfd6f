"""The OpenAPI schema and its two readers (Swagger UI, Redoc), public and served from
vendored static files."""

from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework import permissions


class ApiSchema(SpectacularAPIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []


class ApiDocs(SpectacularSwaggerView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []


class ApiRedoc(SpectacularRedocView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
