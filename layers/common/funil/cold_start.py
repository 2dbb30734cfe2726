"""The collector off while a handler module imports; its objects frozen when it is done.

Importing a handler allocates just enough to cross the collector's thresholds, and each full
collection then walks every object boto3, pydantic and Powertools have built (15-25 ms of a cold
start, nothing freed: a module's objects live as long as the container). Importing this module
turns the collector off; ``done()``, the handler module's last line, moves everything built so far
into the permanent generation (``gc.freeze``: never walked again) and turns it back on, so
invocations collect only what they allocate. bench/README.md measures it.

A handler adopts it in two lines, first and last in its ``app.py`` (before any other import, so
that Powertools and the SDK import with the collector off)::

    from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
    ...
    cold_start.done()

Only the first import of this module turns the collector off: a process importing several
handlers (the tests, the local stack) collects as usual after the first ``done()``.
"""

from __future__ import annotations

import gc

__all__ = ["done"]

gc.disable()


def done() -> None:
    """The handler module is imported: freeze what it built and turn the collector back on."""
    gc.freeze()
    gc.enable()
