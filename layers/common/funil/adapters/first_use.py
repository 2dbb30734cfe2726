"""Clients built on their first call rather than at import.

A cold start pays for what its first request uses, not for every client a module might need: a
boto3 client costs tens of milliseconds to build (docs/architecture.md §8), and many requests never
touch KMS or a queue. ``build`` is called once, on the first attribute read or write; the client is then kept
for the container's life (the AWS builders are themselves cached per container, so every adapter
shares one client per service).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")

__all__ = ["built", "on_first_use"]


class _BuiltOnFirstUse:
    __slots__ = ("_build", "_built")

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._built: Any = None

    def _target(self) -> Any:
        if self._built is None:
            self._built = self._build()
        return self._built

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _BuiltOnFirstUse.__slots__:
            object.__setattr__(self, name, value)
        else:
            setattr(self._target(), name, value)

    def __repr__(self) -> str:
        return f"<built on first use: {self._built!r}>" if self._built is not None else "<not built yet>"


def on_first_use(build: Callable[[], T]) -> T:
    """A stand-in for ``build()`` that calls ``build`` when first used (reading or setting an attribute)."""
    return cast(T, _BuiltOnFirstUse(build))


def built(value: T) -> T:
    """The object behind a stand-in (built now if it was not yet); any other value as it is.

    For what needs the object itself rather than its attributes (``dataclasses.replace``, ``isinstance``)."""
    if isinstance(value, _BuiltOnFirstUse):
        return cast(T, value._target())
    return value
