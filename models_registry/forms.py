"""A model picker for any Django form in the platform, fed by the same selection list as
GET /api/v1/models/options (so every picker offers the same models), cached while it is small."""

from django import forms
from django.http import QueryDict

from models_registry.models import AIModel
from models_registry.selectors import OPTION_FILTERS, OptionsQuery, aimodel_options


def option_filters(**filters) -> QueryDict:
    params = QueryDict(mutable=True)
    for name, values in filters.items():
        if name not in OPTION_FILTERS:
            raise TypeError(f"Unknown option filter {name!r}; use {', '.join(OPTION_FILTERS)}.")
        params.setlist(name, values if isinstance(values, list | tuple) else [values])
    return params


class AIModelChoiceField(forms.TypedChoiceField):
    """Choose one active model; the cleaned value is the AIModel.

        model = AIModelChoiceField(model_type="chat", capability=["vision"])

    Choices are grouped by provider and computed when the form is rendered or validated,
    so a model added a moment ago is offered at once.
    """

    widget = forms.Select

    def __init__(self, *, model_type=None, industry=None, capability=None, search=None, **kwargs):
        given = {"model_type": model_type, "industry": industry, "capability": capability, "search": search}
        filters = {name: value for name, value in given.items() if value}
        self.option_params = option_filters(**filters)
        super().__init__(choices=self.grouped_choices, coerce=self.to_model, **kwargs)

    def grouped_choices(self):
        options = aimodel_options(OptionsQuery.of(self.option_params))
        groups: dict[str, list] = {}
        for option in options:
            label = option["display_name"] or option["name"]
            groups.setdefault(option["provider"], []).append((str(option["id"]), label))
        return [("", "---------"), *groups.items()]

    @staticmethod
    def to_model(value) -> AIModel:
        return AIModel.objects.select_related("provider").get(pk=int(value))
