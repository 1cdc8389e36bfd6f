"""Journey 1: a factory signs up, gets verified, lists a machine, paints its idle time with the
keyboard, and the machine shows in the public catalogue — in Chinese and in English."""

from __future__ import annotations

import pytest
from django.utils import translation

from capacity.models import AvailabilityRule, Category, ProviderProfile, Resource
from marketplace.models import Membership, Organisation, User
from tests.e2e import journeys as j
from tests.e2e.browser import assert_accessible
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator_user():
    """Platform staff with TOTP; the browser logs in with password and a computed TOTP code."""
    from allauth.mfa.totp.internal.auth import TOTP

    user = UserFactory(email="ops@spindle.example", is_staff=True, is_superuser=True, password=j.PASSWORD)
    TOTP.activate(user, j.OPERATOR_TOTP_SECRET)
    return user


def text(language: str, message: str) -> str:
    with translation.override(language):
        return translation.gettext(message)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_factory_is_verified_lists_a_machine_and_paints_idle_time(page_in, operator_user, private_media, language):
    email = f"owner-{language}@factory.example"
    code = j.credit_code("MA1XY123" + ("A" if language == "en" else "B"))
    factory = page_in(language)

    # Sign up and confirm the email address: the confirmation logs the factory in.
    j.sign_up(factory, email)
    assert factory.locator("html").get_attribute("lang") == ("zh-CN" if language == "zh-hans" else "en")
    user = User.objects.get(email=email)
    assert user.emailaddress_set.get().verified is True

    # The organisation, then the provider profile, submitted for verification.
    j.create_organisation(factory, "Kunshan Precision Works", Organisation.Kind.PROVIDER)
    membership = Membership.objects.get(user=user)
    assert (membership.organisation.name, membership.role) == ("Kunshan Precision Works", Membership.Role.OWNER)
    factory.goto("/workspace/profile/")
    factory.fill("#id_legal_name", "昆山精工机械有限公司")
    factory.fill("#id_credit_code", code)
    factory.select_option("#id_province", "JS")
    factory.locator("#id_city option[value=SZ]").wait_for(state="attached")
    factory.select_option("#id_city", "SZ")
    factory.fill("#id_address", "江苏省苏州市昆山市玉山镇精工路 8 号")
    factory.set_input_files("#id_business_licence_upload", files=[j.LICENCE_PDF])
    factory.fill("#id_contact_name", "Wang Lei")
    factory.fill("#id_contact_phone", "+86 512 5550 1234")
    factory.fill("#id_contact_email", email)
    j.submit(factory, "main form[enctype='multipart/form-data']")
    j.post_action(factory, "/workspace/profile/submit/")
    profile = ProviderProfile.objects.get(organisation=membership.organisation)
    assert (profile.legal_name, profile.credit_code, profile.status) == (
        "昆山精工机械有限公司",
        code,
        ProviderProfile.Status.PENDING,
    )

    # The operator logs in with password and TOTP and verifies the provider.
    ops = page_in(language)
    j.log_in(ops, operator_user.email, totp_secret=j.OPERATOR_TOTP_SECRET)
    ops.goto("/ops/providers/")
    with ops.expect_navigation():
        ops.get_by_role("link", name="昆山精工机械有限公司").click()
    j.post_action(ops, f"/ops/providers/{profile.pk}/approve/")
    profile.refresh_from_db()
    assert profile.status == ProviderProfile.Status.VERIFIED

    # The factory lists a machine with its specs and rate card and submits it for review.
    category = Category.objects.filter(parent__code="P01").order_by("code").first()
    factory.goto("/workspace/resources/new/")
    factory.select_option("#id_category", str(category.pk))
    factory.locator("#spec-fields input").first.wait_for()
    factory.fill("#id_name", "DMG MORI DMU 50")
    factory.fill("#id_make", "DMG MORI")
    factory.fill("#id_spec_envelope_x_mm", "650")
    factory.fill("#id_spec_envelope_y_mm", "520")
    factory.fill("#id_spec_envelope_z_mm", "475")
    factory.select_option("#id_billing_unit", Resource.BillingUnit.MACHINE_HOUR)
    factory.fill("#id_rate", "260.00")
    j.submit(factory, "main form.resource-form")
    resource = Resource.objects.get(provider=membership.organisation)
    assert (resource.name, resource.category, resource.envelope_x_mm, resource.rate, resource.status) == (
        "DMG MORI DMU 50",
        category,
        650,
        260,
        Resource.Status.DRAFT,
    )
    j.post_action(factory, f"/workspace/resources/{resource.pk}/submit/")
    resource.refresh_from_db()
    assert resource.status == Resource.Status.PENDING_REVIEW

    # The operator approves the listing.
    ops.goto(f"/ops/listings/{resource.pk}/")
    j.post_action(ops, f"/ops/listings/{resource.pk}/approve/")
    resource.refresh_from_db()
    assert resource.status == Resource.Status.LISTED

    # Idle time with the keyboard: the cursor starts on Monday 18:00; Shift+arrows select
    # Monday–Friday 18:00–22:00, Space paints, Tab reaches Save, Enter saves.
    factory.goto(f"/workspace/resources/{resource.pk}/calendar/")
    assert_accessible(factory)
    grid = factory.locator("table.cal-grid")
    grid.focus()
    for _ in range(7):
        factory.keyboard.press("Shift+ArrowDown")
    for _ in range(4):
        factory.keyboard.press("Shift+ArrowRight")
    factory.keyboard.press("Space")
    assert factory.locator("td[data-cell] input:checked").count() == 5 * 8
    assert factory.locator("[data-dirty]").is_visible()
    factory.keyboard.press("Tab")
    save = factory.locator("form[data-calendar] .actions button[type=submit]")
    assert save.evaluate("button => button === document.activeElement")
    with factory.expect_response(lambda r: r.request.method == "POST" and "/calendar/" in r.url):
        factory.keyboard.press("Enter")
    factory.locator("form[data-calendar] .message.success").wait_for()
    rules = AvailabilityRule.objects.filter(resource=resource).values_list("weekday", "start_minute", "end_minute")
    assert sorted(rules) == [(day, 18 * 60, 22 * 60) for day in range(5)]

    # The 14-day timeline shows the windows: ten weekdays in any 14 days, 18:00–22:00 each.
    timeline = factory.locator("#calendar-timeline")
    assert timeline.locator("rect.tl-idle").count() == 10
    factory.locator("#calendar-timeline details summary").click()
    items = timeline.locator("details li").all_inner_texts()
    assert len(items) == 14
    assert sum("18:00–22:00" in item for item in items) == 10

    # Anyone can now find the machine in the public catalogue.
    visitor = page_in(language)
    visitor.goto("/catalogue/resources/?q=DMU")
    link = visitor.get_by_role("link", name="DMG MORI DMU 50")
    assert link.count() == 1
    with visitor.expect_navigation():
        link.click()
    assert visitor.locator("h1").inner_text() == "DMG MORI DMU 50"
    assert text(language, "Catalogue") in visitor.locator("nav#site-nav").inner_text()
