"""What registry services refuse with, beyond field validation (Django's ValidationError)."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Dependent:
    """Something that uses a model and so keeps it from being deleted."""

    component_type: str
    component_id: str
    component_name: str
    id: int | None = None  # the ModelDependency's id, when it is one

    def as_dict(self) -> dict:
        return asdict(self)


class HasDependenciesError(Exception):
    def __init__(self, dependents: list[Dependent]):
        self.dependents = dependents
        super().__init__(f"The model has {len(dependents)} dependent(s) and cannot be deleted.")


class StaleVersionError(Exception):
    """The caller edited an older version than the one stored (someone else saved first)."""

    def __init__(self, current):
        self.current = current
        super().__init__("The model was changed by someone else since you loaded it.")
