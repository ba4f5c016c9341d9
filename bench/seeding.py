"""Registry data for benchmarks, written set-based: seeding is never timed."""

from django.db import transaction
from django.utils import timezone

from audit.bulk import insert_history_rows
from audit.choices import ChangeSource
from audit.context import change_context
from models_registry.models import AIModel, Provider, RegisteredName

BATCH_SIZE = 1000


def seed_models(count: int) -> list[int]:
    """`count` active models of one provider, each with a distinct lowercase name, the
    registered name that claims it and a creation history row, as the create service
    would leave them. Returns their ids in order."""
    with change_context(source=ChangeSource.CLI, reason="benchmark seed"), transaction.atomic():
        provider = Provider.objects.create(slug="bench", name="Bench")
        names = [f"bench-model-{number:06d}" for number in range(count)]
        AIModel.objects.bulk_create([AIModel(name=name, provider=provider) for name in names], batch_size=BATCH_SIZE)
        models = AIModel.objects.filter(provider=provider)
        claims = [RegisteredName(name=name.lower(), model_id=pk) for pk, name in models.values_list("pk", "name")]
        RegisteredName.objects.bulk_create(claims, batch_size=BATCH_SIZE)
        insert_history_rows(models, history_type="+", timestamp=timezone.now())
    return list(models.order_by("pk").values_list("pk", flat=True))
