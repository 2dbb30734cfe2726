"""Importing the template's Lambda handlers in-process, each as its own module."""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable
from typing import Any

from local.template import ROOT, Function

LAYER_PATH = str(ROOT / "layers" / "common")
Handler = Callable[[dict[str, Any], Any], Any]


def ensure_layer_on_path() -> None:
    """Lambda puts the layer's python/ on sys.path; locally that is layers/common."""
    if LAYER_PATH not in sys.path:
        sys.path.insert(0, LAYER_PATH)


def load_handler(function: Function, fresh: bool = False) -> Handler:
    """The function's handler; ``fresh`` re-imports its module (new module-level state)."""
    ensure_layer_on_path()
    module_name = f"funil_fn_{function.logical_id}"
    if fresh or module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, function.module_path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {function.module_path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            # A half-initialised module must not be served by the next call.
            sys.modules.pop(module_name, None)
            raise
    handler: Handler = getattr(sys.modules[module_name], function.function_name)
    return handler


class LambdaContext:
    """The parts of Lambda's context object handlers and Powertools read."""

    def __init__(self, function: Function, request_id: str) -> None:
        self.function_name = function.logical_id
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function.logical_id}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function.logical_id}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + function.timeout

    def get_remaining_time_in_millis(self) -> int:
        """Counts down from the function's Timeout, as Lambda's does."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def handler_globals(handler: Handler) -> dict[str, Any]:
    """The module-level state of a handler's module (``DEPS``…), through Powertools' decorators."""
    return sys.modules[handler.__module__].__dict__
