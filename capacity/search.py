"""The denormalised, bilingual search text of a resource.

Chinese has no spaces between words, so catalogue search matches with trigram similarity and
``ILIKE`` over this text (GIN trigram index), in both languages at once.
"""

from __future__ import annotations

from capacity.models import Resource


def build_search_text(resource: Resource) -> str:
    category = resource.category
    parts = [
        resource.name,
        resource.make,
        resource.model_name,
        resource.description,
        category.code,
        category.name_zh,
        category.name_en,
    ]
    if category.parent_id:
        parts += [category.parent.name_zh, category.parent.name_en]
    if resource.pk:
        for material in resource.materials.all():
            parts += [material.code, material.name_zh, material.name_en]
    if resource.measurand_id:
        parts += [resource.measurand.name_zh, resource.measurand.name_en]
    parts += list(resource.standards or [])
    parts += [str(v) for v in (resource.extra_specs or {}).values() if isinstance(v, str)]
    profile = getattr(resource.provider, "provider_profile", None)
    parts += [resource.provider.name] + ([profile.legal_name] if profile else [])
    return " ".join(p.strip() for p in parts if p and p.strip())


def refresh_search_text(resource: Resource) -> None:
    """Recompute and store the search text (call after any write to names, specs or materials)."""
    text = build_search_text(resource)
    Resource.objects.filter(pk=resource.pk).update(search_text=text)
    resource.search_text = text
