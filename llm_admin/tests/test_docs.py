"""The documentation stays true: every API path is in docs/api.md, every command in
docs/operators.md and, with an example, in the README."""

import re
from pathlib import Path

from django.core.management import get_commands
from drf_spectacular.generators import SchemaGenerator

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PROJECT_APPS = ("models_registry", "audit", "accounts")


def documented(pattern_path: str, text: str) -> bool:
    """Whether `/api/v1/models/{id}/x` appears in `text`, whatever the placeholders are named."""
    pattern = re.escape(pattern_path)
    pattern = re.sub(r"\\\{[^}]*\\\}", r"\\{[^}]+\\}", pattern)
    return re.search(pattern + r"(?![\w/])", text) is not None


def test_every_api_path_is_in_the_api_reference():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    text = (DOCS / "api.md").read_text()

    missing = [path for path in schema["paths"] if not documented(path, text)]

    assert missing == []


def test_every_project_command_is_in_the_operator_guide():
    text = (DOCS / "operators.md").read_text()
    commands = [name for name, app in get_commands().items() if app in PROJECT_APPS]

    missing = [name for name in commands if f"manage.py {name}" not in text]

    assert commands
    assert missing == []


def test_every_project_command_has_an_example_in_the_readme():
    text = (REPO / "README.md").read_text()
    commands = [name for name, app in get_commands().items() if app in PROJECT_APPS]

    missing = [name for name in commands if f"`manage {name}" not in text]

    assert commands
    assert missing == []
