"""Pools of models to act on, and what the registry and its audit trail hold afterwards."""

from hypothesis import strategies as st

from audit.models import AuditEntry
from models_registry.choices import ModelStatus
from models_registry.models import AIModel, ModelDependency, RegisteredName
from models_registry.services import dependency_register
from models_registry.tests.factories import AIModelFactory, ProviderFactory

MISSING_ID = 10**12


def make_pool(statuses: list[str], dependency_counts: list[int]) -> list[AIModel]:
    provider = ProviderFactory()
    pool = []
    for index, (status, dependencies) in enumerate(zip(statuses, dependency_counts, strict=False)):
        model = AIModelFactory(name=f"pool-{index}", provider=provider, status=status)
        for number in range(dependencies):
            dependency_register(model=model, component_type="agent", component_id=str(number), actor=None)
        pool.append(model)
    return pool


def registered_dependencies(model: AIModel) -> list[tuple]:
    return sorted(ModelDependency.objects.filter(model=model).values_list("component_type", "component_id"))


def newest_entries(after_id: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=after_id).order_by("id"))


def last_entry_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


pools = st.lists(st.tuples(st.sampled_from(ModelStatus.values), st.integers(0, 2)), min_size=1, max_size=6)


def stored_state() -> tuple:
    return (AIModel.objects.count(), RegisteredName.objects.count(), AuditEntry.objects.count())
