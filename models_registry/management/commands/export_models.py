"""python manage.py export_models [--format csv|json|xlsx] [--output FILE] [filters as in the list API]"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from models_registry.exporting import EXPORT_FORMATS, WRITERS
from models_registry.selectors import aimodel_filter

# --option -> the list API's query parameter; the repeatable ones may be given several times.
FILTER_OPTIONS = {
    "name": False,
    "provider": True,
    "model_type": True,
    "status": True,
    "industry": True,
    "capability": True,
    "search": False,
    "min_context_window": False,
    "max_input_cost": False,
    "has_dependencies": False,
    "updated_since": False,
    "ordering": False,
}


class Command(BaseCommand):
    help = "Export models (all, or those the filters select) as CSV, JSON or XLSX, streamed."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
        parser.add_argument("--output", help="A file to write; standard output when omitted (not for xlsx).")
        for option, repeatable in FILTER_OPTIONS.items():
            flag = "--" + option.replace("_", "-")
            if repeatable:
                parser.add_argument(flag, dest=option, action="append", help="Repeatable: any of the values.")
            else:
                parser.add_argument(flag, dest=option)

    def handle(self, *args, format, output, **options):
        params = QueryDict(mutable=True)
        for option in FILTER_OPTIONS:
            value = options.get(option)
            if value is not None:
                params.setlist(option, value if isinstance(value, list) else [value])
        try:
            models = aimodel_filter(params)
        except ValidationError as error:
            problems = "; ".join(f"--{k.replace('_', '-')}: {' '.join(v)}" for k, v in error.message_dict.items())
            raise CommandError(problems, returncode=2) from error
        if format == "xlsx" and output is None:
            raise CommandError("--format xlsx needs --output FILE.", returncode=2)
        writer = WRITERS[format]
        if output is None:
            self.stdout.ending = ""  # the writer ends its own lines
            count = writer(models, self.stdout)
        else:
            mode, encoding = ("wb", None) if format == "xlsx" else ("w", "utf-8")
            try:
                with open(output, mode, encoding=encoding, newline="" if encoding else None) as stream:
                    count = writer(models, stream)
            except OSError as error:
                raise CommandError(f"Cannot write {output}: {error.strerror}.", returncode=2) from error
        self.stderr.write(f"Exported {count} models.")
