#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    """Run administrative tasks."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llm_admin.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    try:
        execute_from_command_line(sys.argv)
        return
    except BrokenPipeError:
        # Whatever read the output stopped early (`| head`): stop quietly, as other
        # command-line tools do, instead of a traceback. Python's own advice (the signal
        # module's note on SIGPIPE): point stdout at devnull so the exit flush cannot fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    # Outside the handler, so that the command's half-read queries are closed now, while
    # their database connection is still open.
    sys.exit(1)


if __name__ == "__main__":
    main()
