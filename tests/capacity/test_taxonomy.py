"""The shipped capability taxonomy is the size the market needs and internally consistent."""

import pytest

from capacity.models import Category


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "min_majors", "min_minors"),
    [("production", 14, 60), ("testing", 10, 60), ("metrology", 3, 20)],
)
def test_each_kind_has_enough_majors_and_minors(kind, min_majors, min_minors):
    majors = Category.objects.filter(kind=kind, parent__isnull=True).count()
    minors = Category.objects.filter(kind=kind, parent__isnull=False).count()
    assert majors >= min_majors
    assert minors >= min_minors


@pytest.mark.django_db
def test_every_node_has_both_names_and_minors_share_their_parents_kind():
    categories = list(Category.objects.select_related("parent"))
    assert len(categories) == 340
    assert [c.code for c in categories if not c.name_zh.strip() or not c.name_en.strip()] == []
    minors = [c for c in categories if c.parent_id]
    assert [c.code for c in minors if c.parent.kind != c.kind] == []
    # Two levels only: a minor's parent is a major.
    assert [c.code for c in minors if c.parent.parent_id is not None] == []
    assert [c.code for c in minors if not c.code.startswith(c.parent.code)] == []
