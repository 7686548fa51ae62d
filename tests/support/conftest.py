import pytest


@pytest.fixture
def inbound_urls(settings):
    """Mount the inbound webhook (and the public survey page) even before crm/urls.py does."""
    settings.ROOT_URLCONF = "tests.surveys.urls"
    settings.INBOUND_EMAIL_SECRET = "s3cret-inbound-token"
