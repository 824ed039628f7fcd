"""A small service on the whole runtime (ServiceApp), to test the runtime end to end.

It serves two RPCs of the real ListingsService contract. CreateListing stores a document and
emits ListingSubmitted through the outbox; titled "hold:<name>", it first waits inside its
transaction (before its writes: the embedded database conflicts concurrent inserts) at the
barrier <name>. GetListing returns the document; for an id "hold-<name>" it first waits at the
barrier <name> (a call held in flight). A barrier is a document in the `barriers` collection:
the probe counts its entries and waits until the test releases it (see entered / release). It
consumes its own ListingSubmitted events and records each one in the `seen` collection inside a
span of its own. Not a Stint service.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from opentelemetry import trace
from pymongo.database import Database
from stint.common.v1.events_pb2 import EventEnvelope
from stint.listings.v1 import events_pb2, resources_pb2, service_pb2, service_pb2_grpc
from stint.topics import LISTINGS
from stint_listings.entrypoints.policy import LISTINGS_POLICY, LISTINGS_SERVICE
from stint_runtime.errors import NotFound
from stint_runtime.grpc.server import ServiceBinding
from stint_runtime.persistence.unit_of_work import UnitOfWork
from stint_runtime.service import Runtime, ServiceDefinition, run_service
from stint_runtime.settings import StintSettings
from stint_runtime.stack.processes import ManagedProcess

from tests.support.waiting import eventually

REPO_ROOT = Path(__file__).resolve().parents[2]

PROBES = "probes"
SEEN = "seen"
BARRIERS = "barriers"
HANDLER_SPAN = "probe.handle-listing-submitted"
BARRIER_LIMIT_SECONDS = 120.0
tracer = trace.get_tracer("stint.tests.probe")


def wait_at_barrier(db: Database[Any], name: str) -> None:
    """Blocking: mark the barrier entered, then wait until the test releases it."""
    barriers = db[BARRIERS]
    barriers.update_one({"_id": name}, {"$inc": {"entered": 1}}, upsert=True)
    deadline = time.monotonic() + BARRIER_LIMIT_SECONDS
    while barriers.find_one({"_id": name, "released": True}) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"barrier {name} never released")
        time.sleep(0.02)


async def entered(db: Database[Any], name: str, times: int = 1, limit: float = 60.0) -> None:
    """Wait until the probe reached the barrier `name` `times` times (calls are held there)."""
    await eventually(
        lambda: asyncio.to_thread(db[BARRIERS].find_one, {"_id": name, "entered": {"$gte": times}}),
        limit=limit,
        what=f"the probe to reach the barrier {name} {times} time(s)",
    )


async def release(db: Database[Any], name: str) -> None:
    await asyncio.to_thread(
        db[BARRIERS].update_one, {"_id": name}, {"$set": {"released": True}}, upsert=True
    )


class ProbeListings(service_pb2_grpc.ListingsServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def CreateListing(  # noqa: N802 - gRPC method name
        self, request: service_pb2.CreateListingRequest, context: Any
    ) -> service_pb2.CreateListingResponse:
        listing = resources_pb2.Listing(
            id=uuid.uuid4().hex,
            employer_org_id=request.employer_org_id,
            title=request.content.title,
            status=resources_pb2.LISTING_STATUS_PENDING_REVIEW,
            version=1,
        )

        def store(uow: UnitOfWork) -> None:
            if listing.title.startswith("hold:"):  # hold the open transaction before its writes
                wait_at_barrier(self.runtime.units.db, listing.title.removeprefix("hold:"))
            uow.insert(PROBES, {"_id": listing.id, "version": 1, "title": listing.title})
            uow.emit(
                events_pb2.ListingSubmitted(listing_id=listing.id, listing=listing),
                subject=listing.id,
                sequence=1,
            )

        await asyncio.to_thread(self.runtime.units.run, store)
        return service_pb2.CreateListingResponse(listing=listing)

    async def GetListing(  # noqa: N802 - gRPC method name
        self, request: service_pb2.GetListingRequest, context: Any
    ) -> service_pb2.GetListingResponse:
        if request.listing_id.startswith("hold-"):
            barrier = request.listing_id.removeprefix("hold-")
            await asyncio.to_thread(wait_at_barrier, self.runtime.units.db, barrier)
            return service_pb2.GetListingResponse(
                listing=resources_pb2.Listing(id=request.listing_id)
            )
        stored = await asyncio.to_thread(
            self.runtime.units.db[PROBES].find_one, {"_id": request.listing_id}
        )
        if stored is None:
            raise NotFound(f"listing {request.listing_id} not found")
        return service_pb2.GetListingResponse(
            listing=resources_pb2.Listing(id=stored["_id"], title=stored["title"])
        )


def probe_process(
    settings: StintSettings, log_dir: Path, extra_env: Mapping[str, str] | None = None
) -> ManagedProcess:
    """This probe as a child process (`python -m tests.support.service_probe NAME`)."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "MONGODB_URI": settings.mongodb_uri,
        "STINT_GRPC_PORT": str(settings.grpc_port),
        "STINT_SHUTDOWN_GRACE_SECONDS": str(settings.shutdown_grace_seconds),
        "STINT_ENVIRONMENT": "test",
        **(extra_env or {}),
    }
    return ManagedProcess(
        settings.service_name,
        [sys.executable, "-m", "tests.support.service_probe", settings.service_name],
        log_dir / "probe.log",
        env=env,
        cwd=REPO_ROOT,
    )


async def committed_lag(settings: StintSettings) -> int:
    """Events on the topic that the service's consumer group has not committed."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.service_name,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(LISTINGS, p) for p in consumer.partitions_for_topic(LISTINGS) or ()
        ]
        assert partitions, f"{LISTINGS} has no partitions"
        ends = await consumer.end_offsets(partitions)
        lag = 0
        for tp in partitions:
            committed = await consumer.committed(tp)
            lag += ends[tp] - (committed or 0)
        return lag
    finally:
        await consumer.stop()


def record_submitted(event: Any, envelope: EventEnvelope, uow: UnitOfWork) -> None:
    with tracer.start_as_current_span(HANDLER_SPAN):
        uow.insert(SEEN, {"_id": envelope.id, "listing_id": event.listing_id})


def build(runtime: Runtime) -> ServiceDefinition:
    return ServiceDefinition(
        bindings=[
            ServiceBinding(
                LISTINGS_SERVICE,
                # The generated base class answers UNIMPLEMENTED for the RPCs not served here.
                ProbeListings(runtime),  # type: ignore[abstract]
                service_pb2_grpc.add_ListingsServiceServicer_to_server,
                LISTINGS_POLICY,
            )
        ],
        publishes=[LISTINGS],
        consumes={events_pb2.ListingSubmitted.DESCRIPTOR.full_name: record_submitted},
    )


if __name__ == "__main__":
    run_service(sys.argv[1] if len(sys.argv) > 1 else "probe", build)
