"""Billing test fixtures; the Stripe servers (localstripe, Connect) are in tests/stripe_servers.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def english(settings):
    """Pages in English, whatever the site's default language, so tests read the source strings."""
    settings.LANGUAGE_CODE = "en"
