import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _public_urls(settings):
    settings.ROOT_URLCONF = "tests.surveys.urls"
    settings.SITE_URL = "https://crm.example.com"
    cache.clear()
    yield
    cache.clear()
