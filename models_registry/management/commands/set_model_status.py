"""python manage.py set_model_status NAME... --status active|inactive|deprecated [--reason ...] [--actor ...]"""

from django.core.management.base import BaseCommand, CommandError

from models_registry.choices import ModelStatus
from models_registry.folding import fold
from models_registry.management.runs import EXIT_BAD_INPUT, add_actor_arguments, command_run
from models_registry.selectors import aimodels_by_name
from models_registry.services import aimodel_set_status


class Command(BaseCommand):
    help = "Set the status of one or more models, named by name or alias. Nothing changes if any name is unknown."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="+", metavar="NAME")
        parser.add_argument("--status", required=True, choices=ModelStatus.values)
        add_actor_arguments(parser)

    def handle(self, *args, names, status, actor, reason, **options):
        found = aimodels_by_name(names)
        unknown = [name for name in names if fold(name) not in found]
        if unknown:
            raise CommandError(f"No model named: {', '.join(unknown)}.", returncode=EXIT_BAD_INPUT)
        with command_run(actor=actor, reason=reason) as run:
            for name in names:
                model = found[fold(name)]
                before = model.status
                model = aimodel_set_status(model=model, status=status, actor=run.user, reason=reason)
                if before == status:
                    self.stdout.write(f"{model.name}: already {status}")
                else:
                    self.stdout.write(f"{model.name}: {before} -> {status}")
