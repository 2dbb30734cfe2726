"""A pytest plugin that measures (never asserts) the estimated match quality of the events built.

    .venv/bin/python -m pytest -p tests.match_quality_probe -q -p no:cacheprovider \
        tests/integration/test_offline_chain.py tests/integration/test_capi_local.py

wraps the conversions sender's and the click stream's ``build_event`` and prints, at the end, each
event name's scores (Funil's 0-10 estimate, docs/conversions.md) and how often each key was present.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pytest

_scores: dict[str, list[float]] = defaultdict(list)
_keys: dict[str, Counter[str]] = defaultdict(Counter)
_seen: set[tuple[str, str]] = set()


def _recording(build: Any) -> Any:
    def build_event(*args: Any, **kwargs: Any) -> Any:
        built = build(*args, **kwargs)
        if built.event is not None and built.match_quality is not None:
            name, event_id = built.event["event_name"], built.event["event_id"]
            if (name, event_id) not in _seen:  # a retry builds the same event again
                _seen.add((name, event_id))
                _scores[name].append(built.match_quality.score)
                _keys[name].update(built.match_quality.keys)
        return built

    return build_event


def pytest_configure(config: pytest.Config) -> None:
    from funil.conversions import page_views, sender

    sender.build_event = _recording(sender.build_event)  # type: ignore[assignment]
    page_views.build_event = _recording(page_views.build_event)  # type: ignore[assignment]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.section("estimated match quality (events built, first build of each event id)")
    for name in sorted(_scores):
        scores = sorted(_scores[name])
        spread = ", ".join(f"{score:g}×{count}" for score, count in sorted(Counter(scores).items()))
        terminalreporter.write_line(
            f"{name}: n={len(scores)} min={scores[0]:g} median={scores[len(scores) // 2]:g} max={scores[-1]:g}"
            f"  [{spread}]"
        )
        present = ", ".join(f"{key} {count}/{len(scores)}" for key, count in _keys[name].most_common())
        terminalreporter.write_line(f"  keys: {present}")
