import pytest
from django.test import Client

from observability.tests.scraping import TOKEN, Exposition


@pytest.fixture
def scrape(settings):
    """scrape() -> the exposition of GET /metrics, fetched with the metrics token."""
    settings.METRICS_TOKEN = TOKEN
    client = Client()

    def scrape() -> Exposition:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.content
        return Exposition(response.content.decode())

    return scrape
