"""The unique constraints as validation reports them (RegistryModel.validate_constraints):
a violation is filed under the field the constraint guards, and a constraint on a field the
caller excludes (a form without it, or a field that already failed) is not checked. (Check
constraints are the database's backstop and are not evaluated in Python: get_constraints.)"""

import pytest
from django.core.exceptions import ValidationError

from models_registry.models import AIModel
from models_registry.tests.factories import AIModelFactory

pytestmark = pytest.mark.django_db


def test_a_name_taken_in_another_case_is_filed_under_the_name():
    holder = AIModelFactory(name="gpt-x")
    other = AIModel(name="GPT-X", provider=holder.provider)

    with pytest.raises(ValidationError) as refused:
        other.validate_constraints()

    assert list(refused.value.error_dict) == ["name"]


def test_the_name_constraint_is_not_checked_when_the_name_is_excluded():
    holder = AIModelFactory(name="gpt-x")
    other = AIModel(name="GPT-X", provider=holder.provider)

    other.validate_constraints(exclude={"name"})
