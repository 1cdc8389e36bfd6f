"""Signing up: email as login, mandatory verification, clear refusals that create nothing."""

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from marketplace.models import Organisation, User
from tests.factories import UserFactory

GOOD_PASSWORD = "milling-spindle-4471"


def signup(client, email, password1=GOOD_PASSWORD, password2=None, language="en"):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": password1, "password2": password2 or password1},
        HTTP_ACCEPT_LANGUAGE=language,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", GOOD_PASSWORD, "Enter a valid email address."),
        ("new@factory.example", "123456789012", "This password is entirely numeric."),
        ("new@factory.example", "short", "This password is too short."),
        ("new@factory.example", "password123", "This password is too common."),
    ],
)
def test_rejected_signup_says_why_and_creates_nothing(client, email, password, message):
    response = signup(client, email, password)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == 0
    assert Organisation.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_duplicate_email_is_refused_clearly(client):
    UserFactory(email="taken@factory.example")
    response = signup(client, "Taken@Factory.example")
    assert response.status_code == 200
    assert "A user is already registered with this email address." in response.content.decode()
    assert User.objects.count() == 1
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_refusals_are_translated(client):
    response = signup(client, "not-an-email", language="zh-hans")
    assert "请输入合法的邮件地址。" in response.content.decode()
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_signup_requires_email_verification_before_sign_in(client):
    response = signup(client, "founder@factory.example")
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    user = User.objects.get(email="founder@factory.example")
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["founder@factory.example"]

    client.logout()
    response = client.post(reverse("account_login"), {"login": "founder@factory.example", "password": GOOD_PASSWORD})
    assert response.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_confirmed_user_is_asked_to_create_an_organisation(client):
    signup(client, "founder@factory.example")
    body = mail.outbox[0].body
    confirm_url = next(line for line in body.splitlines() if "/accounts/confirm-email/" in line).strip()
    path = confirm_url[confirm_url.index("/accounts/") :]
    response = client.post(path, follow=True)
    assert response.redirect_chain[-1][0] == reverse("organisation_create")
    assert response.context["user"].email == "founder@factory.example"
    assert EmailAddress.objects.get(email="founder@factory.example").verified
