import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english(client):
    """Capacity tests assert exact English messages: services and pages speak English here."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield
