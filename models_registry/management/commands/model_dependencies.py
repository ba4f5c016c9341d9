"""python manage.py model_dependencies NAME — what uses a model (and who owns each registered
component); exit status 1 if anything does."""

import sys

from django.core.management.base import BaseCommand, CommandError

from audit.management.runs import EXIT_BAD_INPUT, EXIT_REFUSED
from models_registry.folding import fold
from models_registry.models import ModelDependency
from models_registry.selectors import aimodels_by_name, dependents_of


class Command(BaseCommand):
    help = "List the components that depend on a model (exit status 1 if there are any, 0 if none)."

    def add_arguments(self, parser):
        parser.add_argument("name", metavar="NAME")

    def handle(self, *args, name, **options):
        model = aimodels_by_name([name]).get(fold(name))
        if model is None:
            raise CommandError(f"No model named {name!r}.", returncode=EXIT_BAD_INPUT)
        dependents = dependents_of([model.pk]).get(model.pk, [])
        if not dependents:
            self.stdout.write(f"{model.name}: no dependencies")
            return
        self.stdout.write(f"{model.name}: {len(dependents)} dependencies")
        owners = dict(ModelDependency.objects.filter(model=model).exclude(owner="").values_list("pk", "owner"))
        for dependent in dependents:
            label = f"  {dependent.component_type}:{dependent.component_id}"
            owner = f"  (owner: {owners[dependent.id]})" if dependent.id in owners else ""
            self.stdout.write(f"{label}  {dependent.component_name}".rstrip() + owner)
        sys.exit(EXIT_REFUSED)
