"""python manage.py verify_audit_log [--format text|json] [--expect POSITION:DIGEST]"""

import json

from django.core.management.base import BaseCommand, CommandError

from audit.verification import verify_chain


def parse_expect(text: str) -> tuple[int, str]:
    position, _, digest = text.partition(":")
    if not (position.isascii() and position.isdigit() and len(digest) == 64):
        raise CommandError("--expect: give POSITION:DIGEST as printed by an earlier run.", returncode=2)
    return int(position), digest.lower()


class Command(BaseCommand):
    help = (
        "Walk the audit chain and report the first entries changed, removed or inserted out of band. "
        "Exit 0 when the chain is intact, 1 when it is not."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--expect",
            metavar="POSITION:DIGEST",
            help="A position and digest an earlier run printed (kept outside the database): fail unless the "
            "chain still holds it.",
        )

    def handle(self, *args, format, expect, **options):
        result = verify_chain(expect=parse_expect(expect) if expect else None)
        if format == "json":
            self.stdout.write(json.dumps(result.as_dict()))
        else:
            for problem in result.problems:
                self.stdout.write(f"{problem.kind}: {problem.message}")
            hidden = result.problem_count - len(result.problems)
            if hidden:
                self.stdout.write(f"... and {hidden} more")
            self.stdout.write(
                f"checked {result.checked} entries, positions {result.first_position}..{result.last_position}, "
                f"last {result.last_position}:{result.last_digest}: {'intact' if result.intact else 'NOT INTACT'}"
            )
        if not result.intact:
            raise CommandError(f"the audit log is not intact: {result.problem_count} problem(s)", returncode=1)
