"""``python -m local [--host 127.0.0.1] [--port 3000]``: the local stack in the foreground."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description="Funil's local stack (no Docker).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")

    from local.server import start_stack  # imports moto and boto3: after argument errors are reported

    stack = start_stack(args.host, args.port)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"Funil local stack on {stack.base_url}", flush=True)
    print(f"  demo link:  {stack.base_url}/go/{stack.seed.link_slug}", flush=True)
    for path in ("/_local/seed", "/_local/items", "/_local/items?prefix=CLICK%23", "/_local/queues"):
        print(f"  inspect:    {stack.base_url}{path}", flush=True)
    print("Ctrl-C stops it.", flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        stack.stop()
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
