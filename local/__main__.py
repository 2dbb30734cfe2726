"""``python -m local [--host 127.0.0.1] [--port 3000] [--schedule-speed N]``: the local stack in the foreground."""

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
    parser.add_argument(
        "--schedule-speed",
        type=float,
        default=1.0,
        metavar="N",
        help="run the template's schedules N times faster than real time (60: a 5-minute schedule every 5 s)",
    )
    args = parser.parse_args(argv)
    if args.schedule_speed <= 0:
        parser.error("--schedule-speed must be positive")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")

    from local.server import start_stack  # imports moto and boto3: after argument errors are reported

    stack = start_stack(args.host, args.port, schedule_speed=args.schedule_speed)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"Funil local stack on {stack.base_url}", flush=True)
    print(f"  demo link:  {stack.base_url}/go/{stack.seed.link_slug}", flush=True)
    print(f"  API:        {stack.base_url}/api/v1/docs (keys: api_key, operator_key in /_local/seed)", flush=True)
    print(
        f"  CLI:        FUNIL_API_URL={stack.base_url} "
        f"FUNIL_API_KEY=$(curl -s {stack.base_url}/_local/seed | jq -r .api_key) .venv/bin/funil bots list",
        flush=True,
    )
    for function in stack.functions.values():
        for schedule in function.schedules:
            if schedule.period_seconds:
                every = schedule.period_seconds / args.schedule_speed
                print(f"  schedule:   {function.logical_id} every {every:g} s ({schedule.expression})", flush=True)
    inspect = ("/_local/seed", "/_local/items", "/_local/items?prefix=CLICK%23", "/_local/queues", "/_local/schedules")
    for path in inspect:
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
