"""python manage.py set_model_status NAME... --status active|inactive|deprecated [--reason ...] [--actor ...]"""

from django.core.management.base import BaseCommand, CommandError

from audit.choices import ChangeSource
from audit.management.runs import EXIT_REFUSED, add_actor_arguments, command_run
from models_registry.choices import STATUS_BY_BULK_ACTION, ModelStatus
from models_registry.folding import fold
from models_registry.models.aimodels import is_name
from models_registry.selectors import aimodels_by_name
from models_registry.services import aimodel_bulk_apply

BULK_ACTION_BY_STATUS = {status: action for action, status in STATUS_BY_BULK_ACTION.items()}


class Command(BaseCommand):
    help = (
        "Set the status of one or more models, named by name or alias: all of them, or, if any "
        "cannot be changed, none (exit 1, with the reason for each)."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="+", metavar="NAME")
        parser.add_argument("--status", required=True, choices=ModelStatus.values)
        add_actor_arguments(parser)

    def handle(self, *args, names, status, actor, reason, **options):
        with command_run(actor=actor, reason=reason) as run:
            found = aimodels_by_name(names)
            problems = [_unresolved(name) for name in names if fold(name) not in found]
            if problems:
                raise _refused(problems)
            models = {}  # each model once, in the order named
            for name in names:
                model = found[fold(name)]
                models.setdefault(model.pk, model)
            # The same service as the API's and the admin's bulk actions: all or nothing.
            result = aimodel_bulk_apply(
                action=BULK_ACTION_BY_STATUS[status],
                ids=list(models),
                actor=run.user,
                reason=reason,
                atomic=True,
                source=ChangeSource.CLI,
            )
        if result.failed:
            raise _refused([f"{models[item.id].name}: {item.error}" for item in result.results if not item.ok])
        for item in result.results:
            model = models[item.id]
            self.stdout.write(
                f"{model.name}: already {status}" if item.unchanged else f"{model.name}: {model.status} -> {status}"
            )


def _unresolved(name: str) -> str:
    if is_name(name):
        return f"{name}: no model has this name or alias"
    # Shown as a literal: whatever control characters it holds are not sent to the terminal.
    return f"{name!r}: not a model name (letters, digits and . _ : / @ + - only)"


def _refused(problems: list[str]) -> CommandError:
    return CommandError(
        "Nothing changed:\n" + "\n".join(f"  {problem}" for problem in problems), returncode=EXIT_REFUSED
    )
