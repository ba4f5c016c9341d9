"""Python's cycle collector, paused while a file is read and imported."""

import gc
from contextlib import contextmanager


@contextmanager
def paused():
    """Pause the cycle collector for the duration of the block.

    An import keeps every row's objects (cells, instances, diffs) until it ends. As they
    pile up, the collector scans them again and again: about a fifth of a 20,000-row
    import's time, for nothing, since none of them is garbage before the import ends.
    Reference counting still frees everything else. The collector is process-wide: only
    the outermost pause turns it back on, so overlapping imports never leave it off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
