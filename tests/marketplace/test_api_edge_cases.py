"""Requests schemathesis found answered with a 500 or off-schema, each answered properly now."""

from decimal import Decimal

import pytest
import yaml
from django.core.management import call_command

from capacity.models import Resource
from marketplace.models import Order
from tests.factories import OrderFactory, ProviderProfileFactory, ResourceFactory
from tests.marketplace.api_support import key_for


def test_a_reversed_measuring_range_is_a_400_and_changes_nothing(client, buyer_owner, buyer_org):
    order = OrderFactory(buyer=buyer_org, status="draft", range_min=None, range_max=None)
    _key, headers = key_for(buyer_owner, buyer_org)
    response = client.patch(
        f"/api/v1/orders/{order.pk}/",
        {"range_min": "38072.13", "range_max": "1095.16"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert Order.objects.filter(pk=order.pk).values_list("range_min", "range_max").get() == (None, None)


@pytest.mark.parametrize("category", ["P0101\x00", "\x00"])
def test_a_code_with_a_nul_character_is_a_validation_error(client, provider_owner, provider_org, category):
    ProviderProfileFactory(organisation=provider_org)
    resource = ResourceFactory(provider=provider_org, rate=Decimal("180.00"))
    _key, headers = key_for(provider_owner, provider_org)
    response = client.patch(
        f"/api/v1/resources/{resource.pk}/", {"category": category}, content_type="application/json", **headers
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], list(error["details"])) == ("validation_error", ["category"])
    assert Resource.objects.filter(pk=resource.pk).values_list("category_id", "rate").get() == (
        resource.category_id,
        Decimal("180.00"),
    )


@pytest.mark.parametrize("path", ["/api/v1/orders/abc/", "/api/v1/orders/-1/submit/", "/api/v1/nothing/"])
def test_an_unknown_api_url_is_a_json_404(client, buyer_owner, buyer_org, path):
    _key, headers = key_for(buyer_owner, buyer_org)
    response = client.get(path, **headers)
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json()["error"]["code"] == "not_found"


def test_an_unknown_page_is_still_the_html_404(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_ids_are_integers_and_errors_are_documented(tmp_path, db):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    [id_parameter] = paths["/api/v1/orders/{id}/"]["get"]["parameters"]
    assert id_parameter["schema"] == {"type": "integer", "minimum": 0}
    assert sorted(paths["/api/v1/orders/"]["get"]["responses"]) == ["200", "400", "401", "403", "404", "429"]
    assert sorted(paths["/api/v1/orders/"]["post"]["responses"]) == ["201", "400", "401", "403", "404", "422", "429"]
    assert sorted(paths["/api/v1/categories/"]["get"]["responses"]) == ["200", "400", "404"]
    error = paths["/api/v1/webhooks/{id}/"]["delete"]["responses"]["404"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_list_examples_are_one_page_of_items(tmp_path, db):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    page = paths["/api/v1/trades/"]["get"]["responses"]["200"]["content"]["application/json"]["examples"]["Page"]
    assert page["value"]["next"] == "https://spindle.example/api/v1/orders/?cursor=cD0xMg%3D%3D"
    assert [row["id"] for row in page["value"]["results"]] == [7]
