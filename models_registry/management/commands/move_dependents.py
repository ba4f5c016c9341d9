"""python manage.py move_dependents MODEL [--to MODEL] [--reason ...] [--actor ...]"""

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.management.base import BaseCommand, CommandError

from audit.management.runs import EXIT_BAD_INPUT, EXIT_REFUSED, add_actor_arguments, command_run
from models_registry.folding import fold
from models_registry.models.aimodels import is_name
from models_registry.selectors import aimodels_by_name
from models_registry.services import TargetNotActiveError, aimodel_move_dependents


class Command(BaseCommand):
    help = (
        "Move every dependency registered on a model to another model (by default its successor), all or "
        "nothing: exit 0 when done, 1 when refused (no successor, a target that is not active), 2 for an "
        "unknown model or bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("model", metavar="MODEL", help="The model's name or an alias.")
        parser.add_argument("--to", metavar="MODEL", help="Where to move them (name or alias); default: its successor.")
        add_actor_arguments(parser)

    def handle(self, *args, model, to, actor, reason, **options):
        with command_run(actor=actor, reason=reason) as run:
            source = _model_named(model, "MODEL")
            target = _model_named(to, "--to") if to is not None else None
            if target is not None and target.pk == source.pk:
                raise CommandError(f"--to: {target.name} is the model itself.", returncode=EXIT_BAD_INPUT)
            try:
                moved = aimodel_move_dependents(model=source, to=target, actor=run.user, reason=reason)
            except ValidationError as error:
                raise CommandError(f"Nothing moved: {' '.join(error.messages)}", returncode=EXIT_REFUSED) from error
            except TargetNotActiveError as error:
                raise CommandError(f"Nothing moved: {error}", returncode=EXIT_REFUSED) from error
            except ObjectDoesNotExist as error:  # deleted since it was named
                raise CommandError(f"Nothing moved: {error}", returncode=EXIT_BAD_INPUT) from error
        target_name = target.name if target is not None else _successor_name(source)
        self.stdout.write(f"{source.name}: moved {moved} dependencies to {target_name}")


def _model_named(name: str, argument: str):
    model = aimodels_by_name([name]).get(fold(name)) if is_name(name) else None
    if model is None:
        # Shown as a literal: whatever control characters it holds are not sent to the terminal.
        raise CommandError(f"{argument}: no model named {name!r}.", returncode=EXIT_BAD_INPUT)
    return model


def _successor_name(model) -> str:
    model.refresh_from_db(fields=["successor"])
    return model.successor.name
