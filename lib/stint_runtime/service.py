"""Runs one Stint service: gRPC server, outbox relay, event subscriber and timers, as one unit.

A service describes itself with a `ServiceDefinition` built from the shared `Runtime`
(settings, clock, MongoDB, units of work); `ServiceApp` starts the parts in dependency order,
reports SERVING only when all are up, and on SIGTERM stops them gracefully: health turns
NOT_SERVING, in-flight calls and the event in hand finish, offsets are committed, the group
is left, and the outbox is flushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from opentelemetry.sdk.trace.export import SpanExporter

from stint_runtime.clock import Clock, clock_for
from stint_runtime.grpc.idempotency import IdempotencyStore
from stint_runtime.grpc.server import ServiceBinding, StintServer, build_server
from stint_runtime.logging import configure_logging
from stint_runtime.messaging.backoff import Backoff
from stint_runtime.messaging.envelope import import_all_contracts, source_of, topic_of
from stint_runtime.messaging.kafka_config import kafka_client_options
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.subscriber import Handler, Subscriber
from stint_runtime.messaging.topics import dead_letter_topic, provision_topics
from stint_runtime.metrics import MetricsEndpoint, serve_metrics
from stint_runtime.persistence.mongo import Client, connect
from stint_runtime.persistence.outbox import OutboxRelay
from stint_runtime.persistence.timers import TimerHandler, TimerScanner
from stint_runtime.persistence.unit_of_work import UnitOfWorkFactory
from stint_runtime.readiness import Readiness
from stint_runtime.settings import StintSettings, load_settings
from stint_runtime.telemetry import configure_telemetry, flush_telemetry

log = logging.getLogger("stint.service")
READINESS_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Timers:
    """The durable timers kept in one collection's documents, and what fires each."""

    collection: str
    handlers: Mapping[str, TimerHandler]


class Worker(Protocol):
    """A background part of a service (e.g. calls to an outside system made outside any
    transaction): started before the service reports SERVING, stopped first on shutdown."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class ServiceDefinition:
    """What a service serves, publishes, consumes and schedules, and its background workers."""

    bindings: Sequence[ServiceBinding]
    publishes: Sequence[str] = ()
    consumes: Mapping[str, Handler] = field(default_factory=dict)
    timers: Sequence[Timers] = ()
    workers: Sequence[Worker] = ()

    def consumed_topics(self) -> list[str]:
        return sorted({topic_of(event_type) for event_type in self.consumes})


@dataclass(frozen=True)
class Runtime:
    """What every service builds on; created once per process by ServiceApp."""

    settings: StintSettings
    clock: Clock
    mongo: Client
    units: UnitOfWorkFactory


Builder = Callable[[Runtime], ServiceDefinition]


class ServiceApp:
    """One service process's parts, started and stopped in order."""

    def __init__(
        self,
        settings: StintSettings,
        build: Builder,
        *,
        clock: Clock | None = None,
        span_exporter: SpanExporter | None = None,
    ) -> None:
        self.settings = settings
        self._build = build
        self._span_exporter = span_exporter
        self.clock = clock or clock_for(
            settings.environment, settings.clock_offset_seconds, settings.clock_file
        )
        self.runtime: Runtime | None = None
        self.server: StintServer | None = None
        self.relay: OutboxRelay | None = None
        self.subscriber: Subscriber | None = None
        self.scanners: list[TimerScanner] = []
        self.workers: list[Worker] = []
        self.readiness = Readiness(settings.unhealthy_after_seconds)
        self.metrics: MetricsEndpoint | None = None
        self._publisher: KafkaPublisher | None = None
        self._watch: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        if self.server is None:
            raise RuntimeError("the service is not started")
        return self.server.address

    async def start(self) -> None:
        """Start every part; health reports SERVING only once all of them run."""
        settings = self.settings
        configure_logging(settings)
        configure_telemetry(settings, exporter=self._span_exporter)
        self.metrics = serve_metrics(settings)
        import_all_contracts()
        mongo = connect(settings)
        units = UnitOfWorkFactory(
            mongo, settings.database_name, source_of(settings.service_name), self.clock
        )
        self.runtime = Runtime(settings, self.clock, mongo, units)
        definition = self._build(self.runtime)
        consumed = definition.consumed_topics()
        await provision_topics(
            settings,
            [
                *definition.publishes,
                *consumed,
                *(dead_letter_topic(settings.consumer_group, topic) for topic in consumed),
            ],
        )
        self._publisher = KafkaPublisher(
            settings.kafka_bootstrap_servers,
            client_id=f"stint-{settings.service_name}",
            enable_idempotence=settings.kafka_enable_idempotence,
            **kafka_client_options(settings),
        )
        await self._publisher.start()
        self.relay = OutboxRelay(
            mongo,
            settings.database_name,
            self._publisher,
            poll_interval=settings.outbox_poll_seconds,
            lease_ttl=timedelta(seconds=settings.outbox_lease_seconds),
            max_attempts=settings.outbox_max_attempts,
            backoff=Backoff(settings.outbox_retry_backoff_seconds, 60.0),
            readiness=self.readiness,
        )
        self.relay.attach(units)
        await self.relay.start()
        idempotency = IdempotencyStore.from_settings(settings, mongo, clock=self.clock)
        units.add_before_commit(idempotency.mark_applied)
        self.server = await build_server(settings, definition.bindings, idempotency=idempotency)
        if definition.consumes:
            self.subscriber = Subscriber.from_settings(
                settings,
                topics=consumed,
                handlers=definition.consumes,
                uow_factory=units,
                dead_letters=self._publisher,
                readiness=self.readiness,
            )
            await self.subscriber.start()
        for timers in definition.timers:
            scanner = TimerScanner(
                units,
                timers.collection,
                timers.handlers,
                self.clock,
                poll_interval=settings.timer_poll_seconds,
                max_attempts=settings.timer_max_attempts,
                readiness=self.readiness,
            )
            await scanner.start()
            self.scanners.append(scanner)
        for worker in definition.workers:
            await worker.start()
            self.workers.append(worker)
        await self.server.start()
        self._watch = asyncio.create_task(self._watch_readiness(), name="readiness")
        log.info(
            "service started",
            extra={"service": settings.service_name, "address": self.server.address},
        )

    async def _watch_readiness(self) -> None:
        """Health follows readiness: NOT_SERVING while a part has been failing past the grace."""
        assert self.server is not None
        serving = True
        while True:
            await asyncio.sleep(READINESS_POLL_SECONDS)
            failing = self.readiness.failing()
            if serving and failing:
                log.error("not ready: NOT_SERVING", extra={"failing": sorted(failing)})
                await self.server.set_serving(False)
            elif not serving and not failing:
                log.info("ready again: SERVING")
                await self.server.set_serving(True)
            serving = not failing

    async def stop(self) -> None:
        """Graceful stop: NOT_SERVING and drain calls while the subscriber commits and leaves."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        for worker in reversed(self.workers):
            try:
                await worker.stop()
            except Exception:
                log.exception("stopping a worker failed")
        grace = self.settings.shutdown_grace_seconds
        draining = []
        if self.server is not None:
            draining.append(self.server.stop(grace))
        if self.subscriber is not None:
            draining.append(self.subscriber.stop())
        for result in await asyncio.gather(*draining, return_exceptions=True):
            if isinstance(result, BaseException):
                log.error("stopping failed", exc_info=result)
        try:
            for scanner in self.scanners:
                await scanner.stop()
            if self.relay is not None:
                await self.relay.stop()
        finally:
            if self._publisher is not None:
                await self._publisher.stop()
            if self.runtime is not None:
                self.runtime.mongo.close()
            if self.metrics is not None:
                self.metrics.stop()
            flush_telemetry()
        log.info("service stopped", extra={"service": self.settings.service_name})

    async def run_until_signalled(self) -> int:
        """Serve until SIGTERM or SIGINT, then stop gracefully; returns the exit code.

        A subscriber that dies on its own is fatal (exit 1): its partitions would stall while
        health still said SERVING; the orchestrator restarts the process instead.
        """
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        exit_code = 0
        try:
            await self.start()
            waiters: list[asyncio.Future[object]] = [asyncio.ensure_future(stopping.wait())]
            if self.subscriber is not None:
                waiters.append(asyncio.ensure_future(self.subscriber.run()))
            done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()
            if not stopping.is_set():
                (ended,) = done
                log.critical("event subscriber stopped unexpectedly", exc_info=ended.exception())
                exit_code = 1
            else:
                log.info("stop signal received; shutting down gracefully")
        finally:
            await self.stop()
        return exit_code


def run_service(name: str, build: Builder) -> None:
    """Entry point of `python -m stint_<name>`."""
    raise SystemExit(asyncio.run(ServiceApp(load_settings(name), build).run_until_signalled()))
