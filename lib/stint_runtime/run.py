"""`make run` / `make stack`: the infrastructure plus every service that exists, in the foreground.

Ports and places (flags win over the environment):
  --kafka-port    STINT_KAFKA_PORT     embedded Kafka (default 19092)
  --mongodb-port  STINT_MONGODB_PORT   embedded MongoDB (default 27117)
  --smtp-port     STINT_SMTP_PORT      SMTP sink (default 2525)
  STINT_<SERVICE>_GRPC_PORT            a service's gRPC port, e.g. STINT_LISTINGS_GRPC_PORT=50051
  STINT_<SERVICE>_METRICS_PORT         its Prometheus /metrics port, e.g. ..._METRICS_PORT=9101
  --data-dir      STINT_DATA_DIR       data and logs (default .stint/ in the repository)
  STINT_CLOCK_FILE                     the services' shared clock offset (<data dir>/clock-offset)
Once ready, <data dir>/platform.json says where everything listens (`make demo` reads it).
With KAFKA_BOOTSTRAP_SERVERS and MONGODB_URI set, those servers are used instead of embedded ones.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from stint_runtime.clock import write_clock_offset
from stint_runtime.edge.launch import edge_port, edge_process, edge_serving
from stint_runtime.ops.reset import claim
from stint_runtime.running import CLOCK_FILE, RunningPlatform, forget, redact_uri
from stint_runtime.settings import (
    DEFAULT_GRPC_PORTS,
    DEFAULT_METRICS_PORTS,
    EMBEDDED_KAFKA_PORT,
    EMBEDDED_MONGODB_PORT,
    EMBEDDED_SMTP_PORT,
    StintSettings,
)
from stint_runtime.stack.backends import Backend, BackendError, infrastructure
from stint_runtime.stack.embedded import LOOPBACK
from stint_runtime.stack.payment_provider import (
    DEFAULT_PORT as PAYMENT_PROVIDER_PORT,
)
from stint_runtime.stack.payment_provider import (
    ProviderServer,
    serve_in_background,
    simulator_url,
)
from stint_runtime.stack.processes import (
    ManagedProcess,
    PortInUseError,
    free_port,
    port_in_use,
    stop_all,
)

PROGRESS_EVERY_SECONDS = 2.0
POLL_SECONDS = 0.25
STACK_PORT_SETTINGS = {
    "kafka": "STINT_KAFKA_PORT or --kafka-port",
    "mongodb": "STINT_MONGODB_PORT or --mongodb-port",
    "smtp": "STINT_SMTP_PORT or --smtp-port",
    "edge": "STINT_EDGE_PORT",
}


def grpc_port_variable(service: str) -> str:
    return f"STINT_{service.upper()}_GRPC_PORT"


def metrics_port_variable(service: str) -> str:
    return f"STINT_{service.upper()}_METRICS_PORT"


@dataclass(frozen=True)
class RunOptions:
    root: Path
    data_dir: Path
    stack_only: bool
    kafka_port: int
    mongodb_port: int
    smtp_port: int
    grpc_ports: dict[str, int]
    metrics_ports: dict[str, int]
    ready_timeout: float
    stop_grace: float


@dataclass
class Service:
    name: str
    port: int
    metrics_port: int
    process: ManagedProcess
    status: str = "STARTING"
    ready_after: float | None = None

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.metrics_port}/metrics"


class Stop(BaseException):
    """SIGINT or SIGTERM arrived: unwind, stopping what was started."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class ProcessFailedError(RuntimeError):
    """A service or server died or never became ready."""

    def __init__(self, process: ManagedProcess, reason: str) -> None:
        super().__init__(f"{process.name} {reason}")
        self.process = process


def default_root() -> Path:
    """The repository this module was installed from (dev mode), else the working directory."""
    candidate = Path(__file__).resolve().parents[2]
    return candidate if (candidate / "services").is_dir() else Path.cwd()


def parse_args(argv: Sequence[str] | None, env: Mapping[str, str]) -> RunOptions:
    parser = argparse.ArgumentParser(
        prog="python -m stint_runtime.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    def env_int(name: str, default: int) -> int:
        raw = env.get(name, "")
        if not raw:
            return default
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            parser.error(f"{name}={raw!r} is not a port number")
        return int(raw)

    parser.add_argument("--stack-only", action="store_true", help="only Kafka, MongoDB and SMTP")
    parser.add_argument(
        "--kafka-port", type=int, default=env_int("STINT_KAFKA_PORT", EMBEDDED_KAFKA_PORT)
    )
    parser.add_argument(
        "--mongodb-port", type=int, default=env_int("STINT_MONGODB_PORT", EMBEDDED_MONGODB_PORT)
    )
    parser.add_argument(
        "--smtp-port", type=int, default=env_int("STINT_SMTP_PORT", EMBEDDED_SMTP_PORT)
    )
    parser.add_argument("--root", type=Path, default=default_root(), help="the repository")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: <root>/.stint")
    parser.add_argument(
        "--ready-timeout", type=float, default=60.0, help="seconds a service may take to serve"
    )
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    data_dir = args.data_dir or (Path(env["STINT_DATA_DIR"]) if env.get("STINT_DATA_DIR") else None)
    return RunOptions(
        root=root,
        data_dir=(data_dir or root / ".stint").resolve(),
        stack_only=args.stack_only,
        kafka_port=args.kafka_port,
        mongodb_port=args.mongodb_port,
        smtp_port=args.smtp_port,
        grpc_ports={
            name: env_int(grpc_port_variable(name), port)
            for name, port in DEFAULT_GRPC_PORTS.items()
        },
        metrics_ports={
            name: env_int(metrics_port_variable(name), port)
            for name, port in DEFAULT_METRICS_PORTS.items()
        },
        ready_timeout=args.ready_timeout,
        stop_grace=StintSettings().shutdown_grace_seconds + 5.0,
    )


def discover_services(root: Path) -> list[str]:
    """Services whose package has a __main__ module, in the order of their default ports."""
    return [
        name
        for name in DEFAULT_GRPC_PORTS
        if (root / "services" / name / f"stint_{name}" / "__main__.py").is_file()
    ]


def health_status(address: str, timeout: float = 1.0) -> str:
    """The server's overall grpc.health.v1 status name, or UNREACHABLE."""
    with grpc.insecure_channel(address) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError:
            return "UNREACHABLE"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn the first SIGINT/SIGTERM into Stop; later ones must not interrupt the clean-up."""
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise Stop(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def say(message: str) -> None:
    print(message, flush=True)


def shown(path: Path) -> str:
    """A path relative to the working directory when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# ---- payments: the provider simulator payouts talks to (only when payouts exists) ----------


def payment_provider_port(env: Mapping[str, str]) -> int:
    raw = env.get("STINT_PAYMENT_PROVIDER_PORT", "")
    return int(raw) if raw.isdigit() else PAYMENT_PROVIDER_PORT


def start_payment_provider(data_dir: Path, env: Mapping[str, str]) -> ProviderServer | None:
    """The simulator, in this process, unless a real provider endpoint is configured; on its
    port (STINT_PAYMENT_PROVIDER_PORT, default 12111) or, when that is taken, on a free one."""
    if env.get("STINT_PAYOUTS_PROVIDER_API_BASE") is not None:
        return None
    port = payment_provider_port(env)
    if port_in_use(LOOPBACK, port):
        port = free_port()
    return serve_in_background(data_dir / "payment-provider", port)


def clock_file(data_dir: Path, env: Mapping[str, str]) -> Path:
    """The development clock every service reads (STINT_CLOCK_FILE): kept across restarts, as
    the data is, so time never moves back for stored timers; zero offset when new."""
    path = Path(env["STINT_CLOCK_FILE"]) if env.get("STINT_CLOCK_FILE") else data_dir / CLOCK_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_clock_offset(path, timedelta(0))
    return path.resolve()


def describe(backend: Backend, services: Sequence[Service], clock: Path) -> RunningPlatform:
    endpoints = backend.endpoints
    return RunningPlatform(
        pid=os.getpid(),
        kafka_bootstrap_servers=endpoints.kafka_bootstrap_servers,
        mongodb_uri=endpoints.mongodb_uri,
        grpc={s.name: s.address for s in services},
        metrics={s.name: s.metrics_url for s in services},
        maildir=str(backend.maildir.resolve()) if backend.maildir is not None else "",
        clock_file=str(clock),
    )


# ---- services --------------------------------------------------------------------------------


def service_process(
    name: str, options: RunOptions, backend: Backend, extra_env: Mapping[str, str]
) -> Service:
    port, metrics_port = options.grpc_ports[name], options.metrics_ports[name]
    env = {
        **extra_env,
        **backend.endpoints.as_env(),
        "STINT_GRPC_PORT": str(port),
        "STINT_METRICS_PORT": str(metrics_port),
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(options.root / "services" / name), os.environ.get("PYTHONPATH")) if p
        ),
    }
    argv = [sys.executable, "-m", f"stint_{name}"]
    log = options.data_dir / "logs" / f"{name}.log"
    process = ManagedProcess(name, argv, log, env=env, cwd=options.root)
    return Service(name, port, metrics_port, process)


def wait_serving(services: Sequence[Service], timeout: float, started: float) -> None:
    """Poll each service's health until SERVING, printing progress; ProcessFailedError otherwise."""
    deadline = time.monotonic() + timeout
    last_progress = time.monotonic()
    pending = list(services)
    while pending:
        for service in list(pending):
            if not service.process.running():
                code = service.process.returncode
                raise ProcessFailedError(
                    service.process, f"exited with code {code} during start-up"
                )
            service.status = health_status(service.address, timeout=POLL_SECONDS * 2)
            if service.status == "SERVING":
                service.ready_after = time.monotonic() - started
                say(f"  {service.name}: SERVING on {service.address} ({service.ready_after:.1f}s)")
                pending.remove(service)
        if not pending:
            return
        now = time.monotonic()
        if now > deadline:
            late = pending[0]
            raise ProcessFailedError(
                late.process, f"not SERVING after {timeout:.0f}s (last status {late.status})"
            )
        if now - last_progress >= PROGRESS_EVERY_SECONDS:
            last_progress = now
            waiting = ", ".join(f"{s.name} ({s.status})" for s in pending)
            say(f"  waiting for {waiting}... {now - started:.0f}s")
        time.sleep(POLL_SECONDS)


def supervise(processes: Sequence[ManagedProcess]) -> None:
    """Block until one of the processes exits (ProcessFailedError) or a signal arrives (Stop)."""
    while True:
        for process in processes:
            if not process.running():
                raise ProcessFailedError(process, f"exited with code {process.returncode}")
        time.sleep(POLL_SECONDS * 2)


def status_table(
    backend: Backend,
    services: Sequence[Service],
    elapsed: float,
    stack_only: bool = False,
    edge: tuple[str, Path] | None = None,
) -> str:
    endpoints = backend.endpoints
    rows = [
        ("kafka", endpoints.kafka_bootstrap_servers, backend.logs.get("kafka")),
        ("mongodb", redact_uri(endpoints.mongodb_uri), backend.logs.get("mongodb")),
        ("smtp", f"{endpoints.smtp_host}:{endpoints.smtp_port}", backend.logs.get("smtp")),
        *((s.name, f"{s.address} (gRPC, SERVING)", s.process.log_path) for s in services),
        *((f"{s.name} metrics", s.metrics_url, None) for s in services),
        *([("edge", f"{edge[0]} (HTTP/JSON, gRPC-Web)", edge[1])] if edge else []),
    ]
    names = ", ".join(s.name for s in services) or ("--stack-only" if stack_only else "none yet")
    lines = [
        f"stint: ready in {elapsed:.1f}s (infrastructure: {backend.label}; services: {names})",
        "",
        f"  {'component':<24}{'address':<52}log",
        *(f"  {n:<24}{a:<52}{shown(log) if log else '-'}" for n, a, log in rows),
    ]
    if backend.maildir is not None:
        lines.append(
            f"  emails land in the SMTP sink's mailbox: {shown(backend.maildir)}/ (one .eml each)"
        )
    if backend.label == "embedded":
        lines.append("  Kafka keeps its data in memory: a restart starts with empty topics.")
    stint = shown(Path(sys.executable).parent / "stint")
    kafka_env = ""
    if endpoints.kafka_bootstrap_servers != StintSettings().kafka_bootstrap_servers:
        kafka_env = f"KAFKA_BOOTSTRAP_SERVERS={endpoints.kafka_bootstrap_servers} "
    lines += [
        "",
        "  mint a dev token:  " + f"{stint} token --role employer --sub emp-1 --org org-1",
        "  tail events:       " + f"{kafka_env}{stint} events tail listings.v1 --from-beginning",
        "  walk through it:   make demo   (in another terminal)",
        "",
        "Ctrl-C (or SIGTERM) stops everything.",
    ]
    return "\n".join(lines)


def run(options: RunOptions) -> None:
    """Start, report, supervise; always stops what it started, services before the stack."""
    started = time.monotonic()
    names = [] if options.stack_only else discover_services(options.root)
    for name in names:
        if port_in_use(LOOPBACK, options.grpc_ports[name]):
            raise PortInUseError(name, LOOPBACK, options.grpc_ports[name])
        if port_in_use(LOOPBACK, options.metrics_ports[name]):
            raise PortInUseError(f"{name} metrics", LOOPBACK, options.metrics_ports[name])
    http_port = edge_port(os.environ)
    if names and port_in_use(LOOPBACK, http_port):
        raise PortInUseError("edge", LOOPBACK, http_port)
    say(f"stint: starting the infrastructure (data and logs in {shown(options.data_dir)}/)")
    with infrastructure(
        options.data_dir,
        use_docker=False,
        kafka_port=options.kafka_port,
        mongodb_port=options.mongodb_port,
        smtp_port=options.smtp_port,
    ) as backend:
        say(f"  infrastructure ({backend.label}) ready ({time.monotonic() - started:.1f}s)")
        embedded = backend.endpoints.mongodb_uri if backend.label == "embedded" else None
        claim(options.data_dir, embedded)  # what `stint reset` may delete, and only that
        provider = None
        payouts_env: dict[str, str] = {}
        if "payouts" in names:
            provider = start_payment_provider(options.data_dir, os.environ)
        if provider is not None:
            url = simulator_url(provider.server_address[1])
            payouts_env["STINT_PAYOUTS_PROVIDER_API_BASE"] = url
            say(f"  payment provider simulator on {url}")
        clock = clock_file(options.data_dir, os.environ)
        shared_env = {"STINT_CLOCK_FILE": str(clock)}
        services = [
            service_process(
                n, options, backend, {**shared_env, **(payouts_env if n == "payouts" else {})}
            )
            for n in names
        ]
        edge = None
        try:
            if services:
                say(f"stint: starting {', '.join(names)}")
            elif not options.stack_only:
                say("stint: no service exists yet (services/<name>/stint_<name>/__main__.py)")
            for service in services:
                service.process.start()
            wait_serving(services, options.ready_timeout, started)
            if services:
                log = options.data_dir / "logs" / "edge.log"
                ports = {s.name: s.port for s in services}
                edge = edge_process(log, ports, port=http_port, cwd=options.root)
                edge.start()
                edge.wait_ready(lambda: edge_serving(http_port), options.ready_timeout)
            edge_row = (f"http://{LOOPBACK}:{http_port}", edge.log_path) if edge else None
            elapsed = time.monotonic() - started
            say(status_table(backend, services, elapsed, options.stack_only, edge_row))
            if services:
                describe(backend, services, clock).write(options.data_dir)
            edge_processes = [edge] if edge else []
            supervise([*(s.process for s in services), *edge_processes, *backend.processes])
        finally:
            forget(options.data_dir)
            if edge is not None and edge.running():
                stop_all([edge], 5.0)
            if any(s.process.running() for s in services):
                say("stint: stopping services")
                stop_all([s.process for s in services], options.stop_grace)
            if provider is not None:
                provider.shutdown()
                provider.server_close()
            say("stint: stopping the infrastructure")
    say("stint: stopped")


def port_hint(error: PortInUseError) -> str:
    setting = STACK_PORT_SETTINGS.get(error.what)
    if setting is None and error.what.endswith(" metrics"):
        setting = metrics_port_variable(error.what.removesuffix(" metrics"))
    setting = setting or grpc_port_variable(error.what)
    return (
        f"stint: {error}. Is another `make run` running? "
        f"Stop it, or choose another port with {setting}."
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv, os.environ)
    with stop_on_signals():
        try:
            run(options)
        except Stop as stop:
            say(f"stint: stopped on {stop}")
            return 0
        except PortInUseError as error:
            say(port_hint(error))
            return 2
        except BackendError as error:
            say(f"stint: {error}")
            return 2
        except ProcessFailedError as failure:
            say(f"stint: {failure}; last lines of {shown(failure.process.log_path)}:")
            say(failure.process.log_tail())
            return 1
        except (RuntimeError, TimeoutError) as error:
            say(f"stint: {error}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
