"""Steps shared by the browser journeys (and by the lead's order-and-pay journey to come).

Each step drives the UI as a person would; selectors use ids, names and form actions so the same
step works in both languages."""

from __future__ import annotations

import re

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core import mail

from capacity.validators import credit_code_check_character

PASSWORD = "a-long-Passphrase-2026"
OPERATOR_TOTP_SECRET = "JBSWY3DPEHPK3PXP"
LICENCE_PDF = {
    "name": "licence.pdf",
    "mimeType": "application/pdf",
    "buffer": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
}


def credit_code(serial: str = "MA1XY1234") -> str:
    """A valid unified social credit code: 91 (enterprise), 320505 (Suzhou New District), serial."""
    first17 = "91320505" + serial
    assert len(first17) == 17
    return first17 + credit_code_check_character(first17)


def submit(page, form_selector: str = "main form[method=post]") -> None:
    """Press the (first) submit button of a form and wait for the next page."""
    with page.expect_navigation():
        page.locator(form_selector).locator("button[type=submit]").first.click()


def post_action(page, action_suffix: str) -> None:
    """Press the button of the POST form whose action ends with ``action_suffix``."""
    submit(page, f"main form[action$='{action_suffix}']")


def sign_up(page, email: str, password: str = PASSWORD) -> None:
    """Sign up with email and password, then confirm the address from the mail Django sent."""
    page.goto("/accounts/signup/")
    page.fill("#id_email", email)
    page.fill("#id_password1", password)
    page.fill("#id_password2", password)
    submit(page)
    confirmation = [m for m in mail.outbox if email in m.to][-1]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", confirmation.body).group(0)
    page.goto(re.sub(r"^https?://[^/]+", "", link))
    submit(page)  # ACCOUNT_CONFIRM_EMAIL_ON_GET is off: confirm with the button


def log_in(page, email: str, password: str = PASSWORD, totp_secret: str | None = None) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", password)
    submit(page)
    if totp_secret:
        counter = list(yield_hotp_counters_from_time())[len(list(yield_hotp_counters_from_time())) // 2]
        page.fill("#id_code", format_hotp_value(hotp_value(totp_secret, counter)))
        submit(page)


def create_organisation(page, name: str, kind: str) -> None:
    page.goto("/org/new/")
    page.fill("#id_name", name)
    page.select_option("#id_kind", kind)
    submit(page)


def session_cookie(user, url: str) -> dict:
    """A session cookie of ``user`` for a browser context (for pages that are not about logging in)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": url,
        "httpOnly": True,
        "secure": settings.SESSION_COOKIE_SECURE,
        "sameSite": "Lax",
    }


# Helpers for the order journey (wizard → drawing → matches → booking → payment).


def fill(page, values: dict[str, str | list[str]]) -> None:
    """Fill form fields by id (``{"id_title": "Brackets", "id_category": "12"}``): selects get
    ``select_option``, file inputs ``set_input_files`` (a path or a Playwright file payload),
    checkboxes are ticked when the value is truthy, everything else ``fill``. A select that
    htmx watches (``hx-get``) waits for its response, so give fields in the page's order."""
    for field_id, value in values.items():
        element = page.locator(f"#{field_id}")
        tag = element.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if tag.startswith("select"):
            fetches = element.get_attribute("hx-get") or element.get_attribute("hx-post")
            if fetches:  # htmx reloads dependent fields: wait until they are back
                path = fetches.split("?")[0]
                with page.expect_response(lambda r, path=path: path in r.url):
                    element.select_option(value)
                page.wait_for_load_state()
            else:
                element.select_option(value)
        elif tag == "input:file":
            element.set_input_files(value)
        elif tag == "input:checkbox":
            element.set_checked(bool(value))
        else:
            element.fill(value)


def wizard_next(page, values: dict | None = None) -> None:
    """Fill the current order-wizard step and press “Save and continue”."""
    if values:
        fill(page, values)
    with page.expect_navigation():
        page.locator("main button[name=action][value=next]").click()
