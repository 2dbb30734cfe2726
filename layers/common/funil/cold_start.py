"""The collector off while a handler module imports; its objects frozen when it is done.

Importing a handler allocates just enough to cross the collector's thresholds, and each full
collection then walks every object boto3, pydantic and Powertools have built (15-25 ms of a cold
start, nothing freed: a module's objects live as long as the container). Importing this module
turns the collector off; ``done()``, the handler module's last line, moves everything built so far
into the permanent generation (``gc.freeze``: never walked again) and turns it back on, so
invocations collect only what they allocate. bench/README.md measures it.

The SDK is imported next, at the handler module's top level. CPython 3.11 keeps frames in 16 KiB
chunks and unmaps a chunk as soon as the frame stack leaves it; boto3's import tree is deep, and
imported from within ours (a handler's module, then ``funil.wiring``, then an adapter…) it crossed a
chunk's end again and again: 100-6,000 mmap/munmap pairs and their page faults per cold start,
depending on how deep the runtime imports the handler; with ``import boto3`` second, one to a few
dozen (bench/README.md). Everything after finds it in ``sys.modules``.

A handler adopts both in three lines, first and last in its ``app.py`` (before any other import, so
that Powertools and the SDK import with the collector off)::

    from funil import cold_start  # isort: skip  (first: the collector stays off while this module imports)
    import boto3  # noqa: F401  # isort: skip  (second: the SDK imported at the top level, see funil.cold_start)
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
