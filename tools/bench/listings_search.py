"""GetListing and SearchListings latency through gRPC at 1k and 20k listings, with baselines.

For each size a fresh database is seeded directly (documents from the repository's own
mapping, bulk-inserted), the listings service is started in process on it, and each operation
is called one at a time for a bounded number of calls or seconds. The baselines run in the same
process against the same servers: a raw pymongo find_one by _id, and a gRPC health Check.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from grpc_health.v1 import health_pb2, health_pb2_grpc
from stint.common.v1 import money_pb2
from stint.listings.v1 import service_pb2, service_pb2_grpc
from stint_listings.adapters.documents import to_document
from stint_listings.adapters.repository import LISTINGS, ensure_indexes
from stint_listings.adapters.search import ORDER, filter_document
from stint_listings.domain.content import Deliverable, ListingContent, Money
from stint_listings.domain.model import Listing, ListingStatus
from stint_listings.domain.queries import ListingFilter
from stint_listings.entrypoints.app import build
from stint_runtime.grpc.auth import mint_token
from stint_runtime.grpc.client import call_metadata, insecure_channel
from stint_runtime.persistence.mongo import Client, Document, connect
from stint_runtime.service import ServiceApp
from stint_runtime.settings import StintSettings, load_settings
from stint_runtime.stack.backends import external_servers
from stint_runtime.stack.embedded import EmbeddedStack, Endpoints
from stint_runtime.stack.processes import free_port
from stint_runtime.values import at_millis

SIZES = (1_000, 20_000)
BATCH = 1_000
MAX_CALLS = 300
MAX_SECONDS_PER_OPERATION = 15.0
MIN_CALLS = 20
SKILLS = ["python", "sql", "react", "typescript", "ml", "excel", "figma", "go", "rust", "seo"]
INDUSTRIES = ["fintech", "retail", "media", "health", "logistics", "education", "energy"]
WORDS = ["dashboard", "dataset", "model", "survey", "campaign", "audit", "api", "report"]
ORGS = [f"org-{i}" for i in range(50)]
# Most listings are on the market; the rest are in the states an employer or admin sees.
STATUS_WEIGHTS = {
    ListingStatus.PUBLISHED: 70,
    ListingStatus.FILLED: 5,
    ListingStatus.DRAFT: 10,
    ListingStatus.PENDING_REVIEW: 5,
    ListingStatus.CLOSED: 5,
    ListingStatus.CANCELLED: 5,
}


def say(message: str) -> None:
    print(message, flush=True)


def fake_listing(rng: random.Random, now: datetime) -> Listing:
    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    created = at_millis(now - timedelta(minutes=rng.randrange(60 * 24 * 30)))
    hours = rng.randrange(5, 41)
    deadline = at_millis(now + timedelta(days=rng.randrange(3, 20)))
    title_words = rng.sample(WORDS, 2)
    content = ListingContent(
        title=f"{title_words[0].title()} {title_words[1]} project",
        description=f"Help us with a {' and a '.join(title_words)} for our team.",
        skills=tuple(rng.sample(SKILLS, rng.randrange(1, 4))),
        industry=rng.choice(INDUSTRIES),
        deliverables=(Deliverable("Result", "", ("Reviewed by the team",)),),
        estimated_hours=hours,
        fee=Money(hours * 2_000 + rng.randrange(0, 60_000, 500), "USD"),
        seats=rng.randrange(1, 4),
        application_deadline=deadline,
        due_date=deadline + timedelta(days=14),
        remote=rng.random() < 0.6,
    )
    published = status not in (ListingStatus.DRAFT, ListingStatus.PENDING_REVIEW)
    return Listing(
        id=uuid.UUID(int=rng.getrandbits(128)).hex,
        employer_org_id=rng.choice(ORGS),
        created_by="bench",
        content=content,
        create_time=created,
        update_time=created,
        status=status,
        publish_time=created + timedelta(minutes=5) if published else None,
        seat_holders=(
            frozenset(f"e{i}" for i in range(content.seats))
            if status is ListingStatus.FILLED
            else frozenset()
        ),
    )


def seed(mongo: Client, database: str, size: int, now: datetime) -> list[str]:
    """Bulk-insert `size` listings; returns the ids of those a student can see."""
    rng = random.Random(size)  # noqa: S311 - reproducible fake data, not secrets
    collection = mongo[database][LISTINGS]
    ensure_indexes(mongo[database])
    visible: list[str] = []
    started = time.monotonic()
    for done in range(0, size, BATCH):
        batch = [fake_listing(rng, now) for _ in range(min(BATCH, size - done))]
        collection.insert_many([to_document(listing) for listing in batch], ordered=False)
        visible += [x.id for x in batch if x.status is ListingStatus.PUBLISHED]
        elapsed = time.monotonic() - started
        say(f"  seeded {done + len(batch):>6}/{size} listings ({elapsed:5.1f}s)")
    return visible


@dataclass(frozen=True)
class Figures:
    calls: int
    p50_ms: float
    p99_ms: float


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(operation: Callable[[int], Awaitable[object]]) -> Figures:
    """Call `operation` one at a time until MAX_CALLS or the time budget (after MIN_CALLS)."""
    samples: list[float] = []
    budget_end = time.monotonic() + MAX_SECONDS_PER_OPERATION
    for i in range(MAX_CALLS):
        if i >= MIN_CALLS and time.monotonic() > budget_end:
            break
        started = time.perf_counter()
        await operation(i)
        samples.append((time.perf_counter() - started) * 1000)
    return Figures(len(samples), percentile(samples, 0.5), percentile(samples, 0.99))


def money(amount_minor: int) -> money_pb2.Money:
    return money_pb2.Money(amount_minor=amount_minor, currency="USD")


SEARCHES: dict[str, service_pb2.SearchListingsRequest] = {
    "SearchListings (no filter)": service_pb2.SearchListingsRequest(page_size=20),
    "SearchListings (text)": service_pb2.SearchListingsRequest(text="dashboard", page_size=20),
    "SearchListings (skills+industry)": service_pb2.SearchListingsRequest(
        skills=["python", "sql"], industry="fintech", page_size=20
    ),
    "SearchListings (fee+remote)": service_pb2.SearchListingsRequest(
        min_fee=money(40_000), max_fee=money(60_000), remote=True, page_size=20
    ),
    "SearchListings (all skills, sparse)": service_pb2.SearchListingsRequest(
        skills=["rust", "seo", "figma"],
        skill_match=service_pb2.SKILL_MATCH_ALL,
        page_size=20,
    ),
}


async def bench_size(endpoints: Endpoints, mongo: Client, size: int) -> dict[str, Figures]:
    database = f"bench_listings_{size}_{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    say(f"{size} listings into {database}")
    visible = seed(mongo, database, size, now)
    settings = service_settings(endpoints, database)
    app = ServiceApp(settings, build)
    say("  starting the listings service")
    await app.start()
    figures: dict[str, Figures] = {}
    try:
        token = mint_token(settings, sub="bench-student", role="student")
        metadata = call_metadata(token=token)
        async with insecure_channel(app.address) as channel:
            listings = service_pb2_grpc.ListingsServiceStub(channel)
            health = health_pb2_grpc.HealthStub(channel)
            collection = mongo[database][LISTINGS]
            ids = random.Random(0).sample(  # noqa: S311 - a reproducible sample
                visible, min(len(visible), MAX_CALLS)
            )

            async def get(i: int) -> object:
                request = service_pb2.GetListingRequest(listing_id=ids[i % len(ids)])
                return await listings.GetListing(request, metadata=metadata)

            async def find_one(i: int) -> object:
                return await asyncio.to_thread(collection.find_one, {"_id": ids[i % len(ids)]})

            student_query = filter_document(
                ListingFilter(statuses=frozenset({ListingStatus.PUBLISHED}))
            )

            def raw_search() -> list[Document]:
                cursor = collection.find(student_query).sort(ORDER).limit(21)
                return list(cursor)

            async def find_page(i: int) -> object:
                return await asyncio.to_thread(raw_search)

            async def check(i: int) -> object:
                return await health.Check(health_pb2.HealthCheckRequest())

            def search(request: service_pb2.SearchListingsRequest) -> Callable[[int], Any]:
                async def call(i: int) -> object:
                    return await listings.SearchListings(request, metadata=metadata)

                return call

            first = await listings.SearchListings(
                SEARCHES["SearchListings (no filter)"], metadata=metadata
            )
            second_page = service_pb2.SearchListingsRequest(
                page_size=20, page_token=first.next_page_token
            )
            operations: dict[str, Callable[[int], Awaitable[object]]] = {
                "GetListing": get,
                **{name: search(request) for name, request in SEARCHES.items()},
                "SearchListings (page 2)": search(second_page),
                "baseline: pymongo find_one(_id)": find_one,
                "baseline: pymongo search (no filter)": find_page,
                "baseline: gRPC health Check": check,
            }
            for name, operation in operations.items():
                await operation(0)  # warm up: connections, caches
                figures[name] = await measure(operation)
                f = figures[name]
                say(
                    f"  {name:<38} p50 {f.p50_ms:8.2f} ms  p99 {f.p99_ms:8.2f} ms"
                    f"  ({f.calls} calls)"
                )
    finally:
        await app.stop()
        await asyncio.to_thread(mongo.drop_database, database)
    return figures


def service_settings(endpoints: Endpoints, database: str) -> StintSettings:
    return load_settings("listings").model_copy(
        update={
            "environment": "test",
            "grpc_port": free_port(),
            "kafka_bootstrap_servers": endpoints.kafka_bootstrap_servers,
            "mongodb_uri": endpoints.mongodb_uri,
            "mongodb_database": database,
            "log_level": "WARNING",
            "shutdown_grace_seconds": 2.0,
        }
    )


@contextmanager
def infrastructure() -> Iterator[Endpoints]:
    """The servers named by KAFKA_BOOTSTRAP_SERVERS/MONGODB_URI, else an embedded stack."""
    external = external_servers(os.environ)
    if external is not None:
        kafka, mongodb = external
        yield Endpoints(kafka, mongodb, "127.0.0.1", 0)
        return
    with tempfile.TemporaryDirectory(prefix="stint-bench-") as workdir:
        say("starting an embedded stack (tansu, SecantusDB) on free ports")
        with EmbeddedStack(Path(workdir)) as endpoints:
            yield endpoints


def report(results: dict[int, dict[str, Figures]]) -> None:
    small, large = (results[size] for size in SIZES)
    baseline = {
        "GetListing": "baseline: pymongo find_one(_id)",
        "SearchListings (no filter)": "baseline: pymongo search (no filter)",
    }
    header = (
        f"{'operation':<38} {'1k p50':>8} {'1k p99':>8} {'20k p50':>8} {'20k p99':>8} "
        f"{'20k/1k p50':>10} {'20k/1k p99':>10} {'vs base p50':>11}"
    )
    say("")
    say("latency in ms, sequential calls through gRPC on one channel")
    say(header)
    say("-" * len(header))
    for name in small:
        s, big = small[name], large[name]
        base_name = baseline.get(name, "baseline: gRPC health Check")
        versus = ""
        if not name.startswith("baseline"):
            versus = f"{big.p50_ms / large[base_name].p50_ms:10.1f}x"
        say(
            f"{name:<38} {s.p50_ms:8.2f} {s.p99_ms:8.2f} {big.p50_ms:8.2f} {big.p99_ms:8.2f} "
            f"{big.p50_ms / s.p50_ms:9.2f}x {big.p99_ms / s.p99_ms:9.2f}x {versus}"
        )
    say(
        "vs base (20k p50): GetListing over a raw find_one(_id); SearchListings (no filter) over"
        " the same query run raw with pymongo; the other searches over a gRPC health Check"
    )


async def main() -> None:
    with infrastructure() as endpoints:
        mongo = connect(StintSettings(mongodb_uri=endpoints.mongodb_uri, service_name="bench"))
        try:
            results = {size: await bench_size(endpoints, mongo, size) for size in SIZES}
        finally:
            mongo.close()
    report(results)


def run() -> None:
    asyncio.run(main())


if __name__ == "__main__":
    run()
