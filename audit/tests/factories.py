import factory
from factory.django import DjangoModelFactory

from audit.choices import AuditAction, ChangeSource
from audit.models import AuditEntry


class AuditEntryFactory(DjangoModelFactory):
    class Meta:
        model = AuditEntry

    username = "someone"
    action = AuditAction.UPDATE
    object_type = "aimodel"
    object_id = factory.Sequence(str)
    object_repr = factory.Sequence(lambda n: f"model-{n}")
    changes = factory.LazyFunction(lambda: {"status": {"old": "active", "new": "inactive"}})
    source = ChangeSource.API
    request_id = factory.Sequence(lambda n: f"req-{n}")
