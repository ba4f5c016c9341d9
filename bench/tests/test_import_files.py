"""The benchmark's generated CSV is a valid import in the project's columns, with the counts
`bench.imports` checks after every timed run (so a new column cannot break `make bench`)."""

import pytest

from bench.import_files import write_models_csv
from models_registry.importing import import_models, read_path
from models_registry.importing.plan import NEW
from models_registry.models import AIModel, ModelIndustryProfile, Provider, RegisteredName
from models_registry.resources import COLUMNS

pytestmark = pytest.mark.django_db


def test_the_generated_csv_imports_whole_with_the_counts_it_announces(tmp_path):
    generated = write_models_csv(tmp_path / "models.csv", 200)

    source = read_path(str(generated.path))
    report = import_models(source, actor=None)

    assert list(source.rows[0].cells) == COLUMNS
    assert report.applied and not report.invalid_rows
    assert report.count(NEW) == generated.rows == AIModel.objects.count()
    assert Provider.objects.count() == generated.providers
    assert ModelIndustryProfile.objects.count() == generated.profiles > 0
    assert RegisteredName.objects.count() == generated.rows + generated.aliases
    assert AIModel.objects.exclude(sunset_date=None).exists()
