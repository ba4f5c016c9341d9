"""What every data-changing command shares: who it acts for, and one request id per run."""

from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from audit.choices import ChangeSource
from audit.context import change_context, new_request_id, validate_reason

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2


def add_actor_arguments(parser) -> None:
    parser.add_argument("--actor", help="The username the changes are recorded under.")
    parser.add_argument("--reason", default="", help="Why; kept in the audit log.")


def resolve_actor(username: str | None):
    if username is None:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"--actor: no user named {username!r}.", returncode=EXIT_BAD_INPUT)
    return user


@contextmanager
def command_run(*, actor: str | None, reason: str = "", source: str = ChangeSource.CLI):
    """One command run: every change it makes shares this request id, actor and reason."""
    try:
        validate_reason(reason)
    except ValidationError as error:
        raise CommandError(f"--reason: {' '.join(error.message_dict['reason'])}", returncode=EXIT_BAD_INPUT) from error
    with change_context(source=source, request_id=new_request_id(), actor=resolve_actor(actor), reason=reason) as run:
        yield run
