"""What moving dependents refuses, word for word (services/dependencies.py): no target, the
model itself as the target, a model that is gone."""

import pytest
from django.core.exceptions import ValidationError

from models_registry.models import AIModel
from models_registry.services import aimodel_move_dependents
from models_registry.tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db


def test_a_model_without_a_successor_needs_a_target_named():
    with pytest.raises(ValidationError) as refused:
        aimodel_move_dependents(model=AIModelFactory(), actor=None)

    assert refused.value.message_dict == {
        "to": ["The model has no successor: name the model to move its dependents to."]
    }


def test_dependents_cannot_move_to_their_own_model():
    model = AIModelFactory()

    with pytest.raises(ValidationError) as refused:
        aimodel_move_dependents(model=model, to=model, actor=None)

    assert refused.value.message_dict == {"to": ["Dependents cannot be moved to the model they are on."]}


@pytest.mark.parametrize("named_target", [False, True], ids=["to-its-successor", "to-a-named-model"])
def test_a_model_that_is_gone_is_named_by_its_id(named_target):
    gone, target = AIModelFactory(), AIModelFactory()
    AIModel.objects.filter(pk=gone.pk).delete()

    with pytest.raises(AIModel.DoesNotExist) as refused:
        aimodel_move_dependents(model=gone, to=target if named_target else None, actor=None)

    assert str(refused.value) == f"No model with id {gone.pk}."
