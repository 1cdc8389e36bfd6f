import pytest
from django.urls import reverse

from tests.factories import UserFactory


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-hans", "闲置机时"), ("en", "Idle machine time")],
)
def test_home_speaks_the_visitors_language(client, language, expected):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert expected in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "expected"), [("zh-hans", "登录"), ("en", "Sign In")])
def test_login_page_in_both_languages(client, language, expected):
    response = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert expected in response.content.decode()


@pytest.mark.django_db
def test_language_switch_sticks(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert "Idle machine time" in client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


@pytest.mark.django_db
def test_default_language_and_time_zone_are_chinese(client, settings):
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert client.get("/").headers["Content-Language"] == "zh-hans"


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.url.endswith("img/favicon.svg")


@pytest.mark.django_db
def test_operators_without_totp_must_set_it_up_before_the_admin(client):
    staff = UserFactory(email="new-ops@spindle.example", is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")


@pytest.mark.django_db
def test_operator_with_totp_reaches_the_admin(client, operator):
    client.force_login(operator)
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db
def test_admin_login_goes_through_allauth(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.django_db
def test_password_login_with_totp_asks_for_the_code(client, operator):
    response = client.post(
        reverse("account_login"), {"login": operator.email, "password": "correct-horse-battery-staple"}
    )
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
