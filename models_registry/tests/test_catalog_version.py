"""The catalog version (docs/contract.md §7): a whole number that every registry-changing
transaction moves on, at least to the current time in microseconds, so that a version read
before a database was restored from a backup is never handed out again."""

import time

import pytest

from models_registry.models import CatalogVersion
from models_registry.selectors import catalog_version
from models_registry.services.catalog import bump_catalog_version

pytestmark = pytest.mark.django_db


def microseconds_now() -> int:
    return time.time_ns() // 1000


def test_a_bump_moves_the_version_to_at_least_now_in_whole_microseconds():
    CatalogVersion.objects.filter(pk=1).update(version=1)
    before = microseconds_now()

    bumped = bump_catalog_version()

    assert type(bumped) is int and type(catalog_version()) is int
    assert before <= bumped <= microseconds_now()
    assert catalog_version() == bumped


def test_a_version_ahead_of_the_clock_moves_on_by_one():
    ahead = microseconds_now() + 10**12
    CatalogVersion.objects.filter(pk=1).update(version=ahead)

    assert bump_catalog_version() == ahead + 1
    assert bump_catalog_version() == ahead + 2


def test_without_its_row_the_first_bump_makes_it_at_now():
    CatalogVersion.objects.all().delete()
    before = microseconds_now()

    bumped = bump_catalog_version()

    assert before <= bumped <= microseconds_now()
    assert list(CatalogVersion.objects.values_list("pk", "version")) == [(1, bumped)]
