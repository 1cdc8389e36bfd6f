"""Capacity REST API (registered in marketplace/api_urls.py)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import permissions, viewsets

from capacity.models import Category
from capacity.serializers import CategorySerializer


class CategoryFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Category.Kind.choices)
    parent = django_filters.CharFilter(
        method="filter_parent", help_text=_("A major's code; 'null' for the majors themselves.")
    )

    class Meta:
        model = Category
        fields = ["kind", "parent"]

    def filter_parent(self, queryset, name, value):
        if value.lower() in ("null", "none"):
            return queryset.filter(parent__isnull=True)
        return queryset.filter(Q(parent__code=value))


CATEGORY_EXAMPLE = {
    "code": "P0101",
    "kind": "production",
    "parent": "P01",
    "name_zh": "数控铣削",
    "name_en": "CNC milling",
    "attributes": ["envelope_x_mm", "tolerance_mm"],
}


@extend_schema_view(
    list=extend_schema(
        summary="List categories",
        description="The capability taxonomy (kind → major → minor), public.",
        examples=[OpenApiExample("Categories", value=[CATEGORY_EXAMPLE], response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Get a category",
        description="One category by its code.",
        examples=[OpenApiExample("Category", value=CATEGORY_EXAMPLE, response_only=True)],
    ),
)
class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """The capability taxonomy (kind → major → minor), public. One query, ordered by code."""

    queryset = Category.objects.select_related("parent").order_by("code")
    serializer_class = CategorySerializer
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    filterset_class = CategoryFilter
    pagination_class = None
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9_-]+"
