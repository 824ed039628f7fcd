"""`make demo` / `python -m tools.demo`: drive the journey, one line per step, then a summary.

Against the platform `make run` started (found through <data dir>/platform.json, data dir as
for `make run`: --data-dir, STINT_DATA_DIR or .stint/), or, when none is running, one started
for the demo and stopped after. Exit 0 when every step happened, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import grpc
from stint_runtime.run import default_root
from stint_runtime.running import RunningPlatform
from stint_runtime.settings import load_settings

from tools.demo.clock import clock_put_back
from tools.demo.gateway import Gateway, StepFailed
from tools.demo.journey import Journey
from tools.demo.people import cast
from tools.demo.platform import serving, started_platform
from tools.demo.summary import summary
from tools.demo.university import University
from tools.demo.university import serving as university_serving


def say(line: str) -> None:
    print(line, flush=True)


async def drive(
    platform: RunningPlatform, run: str, university: University
) -> tuple[Journey, bool]:
    gateway = Gateway(platform.grpc, load_settings("demo"))
    journey = Journey(
        gateway, cast(run), Path(platform.maildir), Path(platform.clock_file), university
    )
    steps = journey.steps()
    try:
        for number, (name, step) in enumerate(steps, start=1):
            started = time.monotonic()
            gateway.new_trace()
            try:
                line = await step()
            except (StepFailed, grpc.aio.AioRpcError) as failure:
                detail = (
                    f"{failure.code().name}: {failure.details()}"
                    if isinstance(failure, grpc.aio.AioRpcError)
                    else str(failure)
                )
                say(f"[{number:>2}/{len(steps)}] {name}: FAILED: {detail}")
                say(f"        trace {gateway.trace_id}")
                return journey, False
            took = time.monotonic() - started
            say(f"[{number:>2}/{len(steps)}] {name}: {line} ({took:.1f}s)")
        return journey, True
    finally:
        await gateway.close()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None, help="the running platform's")
    parser.add_argument("--run-id", default="", help="suffix of the demo's ids (default random)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = args.data_dir or Path(os.environ.get("STINT_DATA_DIR") or default_root() / ".stint")
    run = args.run_id or secrets.token_hex(3)
    started = time.monotonic()
    with ExitStack() as stack:
        platform = RunningPlatform.read(data_dir)
        if platform is None or not serving(platform):
            say("demo: no running platform found; starting one on free ports (stopped after)")
            platform = stack.enter_context(started_platform())
            say(f"demo: platform ready in {time.monotonic() - started:.1f}s (pid {platform.pid})")
        else:
            say(f"demo: using the platform in {data_dir} (pid {platform.pid})")
        university = stack.enter_context(university_serving(University()))
        stack.enter_context(clock_put_back(Path(platform.clock_file), say))
        journey, ok = asyncio.run(drive(platform, run, university))
        say(summary(journey, ok, time.monotonic() - started))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
