"""Helpers of the API tests: a key for a persona."""

from marketplace.services import api_keys


def key_for(user, organisation, scope="read_write", name="ERP sync"):
    key, raw = api_keys.create_api_key(organisation=organisation, by=user, name=name, scope=scope)
    return key, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
