"""`python -m stint_runtime.edge`: HTTP/JSON and gRPC-Web on STINT_EDGE_PORT (default 8080)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

from stint_runtime.edge.config import ConfigError, from_env
from stint_runtime.edge.server import EdgeServer
from stint_runtime.logging import configure_logging
from stint_runtime.settings import load_settings

_log = logging.getLogger("stint_runtime.edge")


def main() -> int:
    configure_logging(load_settings("edge"))
    try:
        config = from_env(os.environ)
    except ConfigError as error:
        print(f"edge: {error}", file=sys.stderr)
        return 2

    server = EdgeServer(config)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever's loop, which this handler interrupts: another thread.
        threading.Thread(target=server.shutdown, name="edge-stop", daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    upstreams = ", ".join(f"{name}={address}" for name, address in config.upstreams.items())
    _log.info(
        "edge: serving HTTP/JSON and gRPC-Web on %s (%d routes; %s; CORS origins %s)",
        config.url,
        len(server.routes),
        upstreams,
        ", ".join(config.cors_origins) or "none",
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        _log.info("edge: stopping; requests in flight may finish")
        server.stop()
        _log.info("edge: stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
