"""Choosing which bot of a link's pool receives a visitor."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar


class Weighted(Protocol):
    @property
    def weight(self) -> int: ...


T = TypeVar("T", bound=Weighted)


def choose_weighted(candidates: Sequence[T], draw: Callable[[], float] = random.random) -> T | None:
    """Pick one candidate with probability weight / total weight; None when nothing has weight.

    ``draw`` returns a float in [0, 1); tests pass a deterministic one.
    """
    pool = [candidate for candidate in candidates if candidate.weight > 0]
    total = sum(candidate.weight for candidate in pool)
    if total <= 0:
        return None
    point = draw() * total
    for candidate in pool:
        point -= candidate.weight
        if point < 0:
            return candidate
    return pool[-1]
