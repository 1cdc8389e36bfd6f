"""DRF serializers for capacity data (thin: shape only, no logic)."""

from rest_framework import serializers

from capacity.models import Category


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Category
        fields = ["code", "kind", "parent", "name_zh", "name_en", "attributes"]
        read_only_fields = fields
