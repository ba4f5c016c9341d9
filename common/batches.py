"""Long lists cut into chunks, for statements that take a list of ids or values."""

from collections.abc import Iterator, Sequence

IDS_PER_STATEMENT = 5000  # keeps id lists within every backend's parameter limit


def batched(items: Sequence, size: int = IDS_PER_STATEMENT) -> Iterator[Sequence]:
    """`items` in consecutive slices of at most `size` (itertools.batched from Python 3.12,
    but slices of the sequence given rather than tuples)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
