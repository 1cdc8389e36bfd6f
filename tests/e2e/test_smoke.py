import pytest

from tests.e2e.browser import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_home(page_in, language):
    page = page_in(language)
    page.goto("/")
    print(page.title(), page.locator("html").get_attribute("lang"))
    assert_accessible(page)
