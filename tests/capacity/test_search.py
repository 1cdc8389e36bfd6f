"""Bilingual catalogue search over search_text: Chinese has no spaces, so words are found with
ILIKE (trigram index) and ranked by trigram word similarity."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from capacity.filters import CatalogueFilter
from capacity.selectors import catalogue as selectors
from tests.capacity.market import MONDAY, listing, provider

pytestmark = pytest.mark.django_db


def search(q: str) -> list[str]:
    filterset = CatalogueFilter({"q": q}, queryset=selectors.catalogue_resources(now=MONDAY), now=MONDAY)
    assert filterset.is_valid(), filterset.errors
    return [r.name for r in filterset.qs]


@pytest.fixture
def market():
    suzhou = provider("Suzhou Precision CNC", slug="suzhou-precision")
    lab = provider("Kunshan Test Lab", slug="kunshan-lab")
    listing(suzhou, "五轴加工中心 DMU 50", category="P0104", make="DMG MORI", materials=["AL7075"])
    listing(suzhou, "立式加工中心 VMC850", category="P0101", materials=["AL6061"])
    listing(suzhou, "Haas ST-20 lathe", category="P0102")
    listing(lab, "盐雾试验箱 (NSS 480 h)", category="T0205", standards=["GB/T 10125"])
    hidden = provider("Hidden Works", status="suspended", slug="hidden")
    listing(hidden, "五轴 hidden mill", category="P0104")


def test_chinese_words_find_chinese_names_and_category_names(market):
    assert search("五轴") == ["五轴加工中心 DMU 50"]
    # 铣削 is in the category name of P0101 (数控铣削), not in the resource's own name.
    assert search("铣削") == ["立式加工中心 VMC850"]
    assert search("盐雾") == ["盐雾试验箱 (NSS 480 h)"]
    assert sorted(search("加工中心")) == ["五轴加工中心 DMU 50", "立式加工中心 VMC850"]


def test_english_words_find_english_category_names_materials_and_standards(market):
    assert search("milling") == ["立式加工中心 VMC850"]
    assert search("salt spray") == ["盐雾试验箱 (NSS 480 h)"]
    assert search("lathe") == ["Haas ST-20 lathe"]
    assert search("7075") == ["五轴加工中心 DMU 50"]
    assert search("gb/t 10125") == ["盐雾试验箱 (NSS 480 h)"]
    assert search("dmg mori") == ["五轴加工中心 DMU 50"]


def test_every_word_must_match_and_like_wildcards_are_literal(market):
    assert search("五轴 7075") == ["五轴加工中心 DMU 50"]
    assert search("五轴 6061") == []
    assert search("%") == []
    assert search("_") == []


def test_best_match_comes_first(market):
    suzhou = provider("Wuxi Works", city="WX", slug="wuxi")
    listing(suzhou, "Vertical machining centre with 5-axis head, milling of aluminium housings", category="P0101")
    results = search("milling")
    assert set(results) == {
        "立式加工中心 VMC850",
        "Vertical machining centre with 5-axis head, milling of aluminium housings",
    }
    assert results[0] == "立式加工中心 VMC850"  # the category name "CNC milling" is a closer word match


def test_search_page_never_shows_hidden_providers(client, market):
    response = client.get(reverse("capacity:catalogue_list"), {"q": "五轴"})
    assert [r.name for r in response.context["page"].object_list] == ["五轴加工中心 DMU 50"]
    assert "hidden mill" not in response.content.decode()


def test_search_uses_ilike_on_search_text(market):
    with CaptureQueriesContext(connection) as queries:
        search("五轴")
    assert "ILIKE" in queries[-1]["sql"] and "WORD_SIMILARITY" in queries[-1]["sql"].upper()
