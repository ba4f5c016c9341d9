"""python manage.py load_starter_catalog — add the curated starter catalog (idempotent)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.choices import ChangeSource
from audit.management.runs import EXIT_REFUSED, add_actor_arguments, command_run
from models_registry.importing import import_models, read_source
from models_registry.models import Provider
from models_registry.services import reference_save

STARTER_CATALOG = Path(__file__).resolve().parents[2] / "data" / "starter_catalog.json"


class Command(BaseCommand):
    help = (
        "Add the starter catalog of real, current models and their providers (models_registry/data/"
        "starter_catalog.json). Loading it again changes nothing; models edited since are updated back."
    )

    def add_arguments(self, parser):
        add_actor_arguments(parser)

    def handle(self, *args, actor, reason, **options):
        catalog = json.loads(STARTER_CATALOG.read_text(encoding="utf-8"))
        run_context = command_run(actor=actor, reason=reason or "starter catalog", source=ChangeSource.IMPORT)
        with run_context as run, transaction.atomic():  # the providers and the models, or nothing
            existing = set(Provider.objects.values_list("slug", flat=True))
            for provider in catalog["providers"]:
                if provider["slug"] not in existing:
                    reference_save(instance=Provider(**provider), actor=run.user)
            source = read_source(STARTER_CATALOG.name, json.dumps(catalog["models"]).encode(), "json")
            report = import_models(source, actor=run.user, reason=reason)
            if not report.applied:
                problems = "; ".join(f"{row.ref}: {row.errors}" for row in report.invalid_rows)
                raise CommandError(f"The starter catalog did not load: {problems}", returncode=EXIT_REFUSED)
        self.stdout.write(f"Starter catalog: {report.summary()}")
