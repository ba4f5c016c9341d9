"""The documentation stays true: every API path is in docs/api.md, every command in
docs/operators.md and, with an example, in the README."""

import re
from pathlib import Path

import pytest
from django.core.management import get_commands
from drf_spectacular.generators import SchemaGenerator

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PROJECT_APPS = ("models_registry", "audit", "accounts", "webhooks", "worker")


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


@pytest.mark.parametrize(
    ("document", "usage"),
    [("docs/operators.md", "manage.py {name}"), ("README.md", "`manage {name}")],  # the README's table of examples
)
def test_every_project_command_is_documented_with_an_example(document, usage):
    text = (REPO / document).read_text()
    commands = [name for name, app in get_commands().items() if app in PROJECT_APPS]

    missing = [name for name in commands if usage.format(name=name) not in text]

    assert commands
    assert missing == []
