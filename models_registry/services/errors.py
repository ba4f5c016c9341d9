"""What registry services refuse with, beyond field validation (Django's ValidationError)."""

from models_registry.selectors import Dependent


class HasDependenciesError(Exception):
    def __init__(self, dependents: list[Dependent]):
        self.dependents = dependents
        super().__init__(f"The model has {len(dependents)} dependent(s) and cannot be deleted.")


class StaleVersionError(Exception):
    """The caller edited an older version than the one stored (someone else saved first).
    `changes` are the audit entries of what the others changed since (oldest first), for the
    caller to show."""

    def __init__(self, current, changes=()):
        self.current = current
        self.changes = list(changes)
        super().__init__("The model was changed by someone else since you loaded it.")


class TargetNotActiveError(Exception):
    """Dependents may move only to an active model (docs/contract.md §7, "Lifecycle")."""

    def __init__(self, target):
        self.target = target
        super().__init__(
            f"{target.name} is {target.status}, not active: dependents can only be moved to an active model."
        )
