"""What a reader makes of a file."""

from dataclasses import dataclass, field


class ImportFileError(Exception):
    """The file as a whole cannot be imported; nothing was changed."""


@dataclass
class SourceRow:
    ref: str  # where the row is in the file: "line 3", "row 3", "item 2", "key 'gpt-4o'"
    cells: dict  # project column -> raw value
    alias_of: str | None = None  # a LiteLLM entry that only names another model


@dataclass
class SourceFile:
    name: str
    format: str
    rows: list[SourceRow]
    columns: set[str] = field(default_factory=set)  # the columns the file carries
