"""Python's cycle collector, paused while the import_models command reads and imports a file."""

import gc
from contextlib import contextmanager


@contextmanager
def paused():
    """Pause the cycle collector for the duration of the block.

    An import keeps every row's objects (cells, instances, diffs) until it ends. As they
    pile up, the collector scans them again and again: about a fifth of a 20,000-row
    import's time, for nothing, since none of them is garbage before the import ends.
    Reference counting still frees everything else. Only the outermost pause turns the
    collector back on, so nested pauses never leave it off.

    For a command's run only, never inside a web request: the collector is process-wide,
    so a pause there would stop it for every request the server's other threads serve
    meanwhile, and the admin's import pages do without it.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
