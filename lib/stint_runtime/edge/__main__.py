"""`python -m stint_runtime.edge`: HTTP/JSON and gRPC-Web on STINT_EDGE_PORT (default 8080)."""

from __future__ import annotations

import logging
import os
import signal
import sys
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

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    server = EdgeServer(config)
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
        server.server_close()
        _log.info("edge: stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
