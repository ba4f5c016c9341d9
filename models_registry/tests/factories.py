import factory
from factory.django import DjangoModelFactory

from models_registry.choices import ModelStatus, ModelType
from models_registry.models import AIModel, Industry, ModelDependency, Provider
from models_registry.services import ProfileInput, aimodel_create


class ProviderFactory(DjangoModelFactory):
    class Meta:
        model = Provider
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"provider-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class AIModelFactory(DjangoModelFactory):
    """Builds through the create service, so factory-made models are audited and indexed
    (names claimed) exactly like real ones."""

    class Meta:
        model = AIModel

    name = factory.Sequence(lambda n: f"model-{n}")
    display_name = factory.LazyAttribute(lambda o: o.name.replace("-", " ").title().strip())  # no blanks around it
    provider = factory.SubFactory(ProviderFactory)
    model_type = ModelType.CHAT
    status = ModelStatus.ACTIVE
    context_window = 128_000

    @classmethod
    def _create(cls, model_class, *args, actor=None, industries=None, **kwargs):
        return aimodel_create(actor=actor, industries=industries, **kwargs)


def profile(slug: str, enabled: bool = True, **settings) -> ProfileInput:
    return ProfileInput(industry=Industry.objects.get(slug=slug), enabled=enabled, settings=settings)


class ModelDependencyFactory(DjangoModelFactory):
    class Meta:
        model = ModelDependency

    model = factory.SubFactory(AIModelFactory)
    component_type = "agent"
    component_id = factory.Sequence(lambda n: f"agent-{n}")
    component_name = factory.LazyAttribute(lambda o: f"Agent {o.component_id}")
