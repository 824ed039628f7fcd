"""Child process for the outbox crash tests.

  commit URI DB TOPIC N   commits N orders (state + two events each), prints "committed", hangs
  hang URI DB TOPIC       writes an order and its events without committing, prints
                          "in-transaction", hangs
  relay URI DB BOOTSTRAP  relays until the outbox is empty, prints "drained", exits
  relay-crash URI DB BOOTSTRAP N
                          relays batches of N and SIGKILLs itself once the broker accepted the
                          first batch, before marking it published
The parent SIGKILLs the hanging ones: no relay ever ran in them.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import signal
import threading
from datetime import timedelta

from google.protobuf.wrappers_pb2 import StringValue
from stint_runtime.clock import SystemClock
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.persistence.mongo import Client, connect
from stint_runtime.persistence.outbox import OutboxRelay
from stint_runtime.persistence.unit_of_work import UnitOfWork, UnitOfWorkFactory
from stint_runtime.settings import StintSettings

from tests.support.waiting import eventually

HANGING_ORDER = "order-hanging"


def order_id(n: int) -> str:
    return f"order-{n}"


def place_order(uow: UnitOfWork, order: str, topic: str) -> None:
    uow.insert("orders", {"_id": order, "version": 1, "state": "PLACED"})
    uow.emit(StringValue(value=f"{order} placed"), subject=order, sequence=1, topic=topic)
    uow.emit(StringValue(value=f"{order} confirmed"), subject=order, sequence=2, topic=topic)


def hang(message: str) -> None:
    print(message, flush=True)
    threading.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["commit", "hang", "relay", "relay-crash"])
    parser.add_argument("mongodb_uri")
    parser.add_argument("database")
    parser.add_argument("target", help="topic (commit, hang) or bootstrap servers (relay)")
    parser.add_argument("count", nargs="?", type=int, default=0)
    args = parser.parse_args()
    client = connect(StintSettings(mongodb_uri=args.mongodb_uri))
    factory = UnitOfWorkFactory(client, args.database, "outbox-test", SystemClock())
    if args.mode == "commit":
        for n in range(args.count):
            factory.run(functools.partial(place_order, order=order_id(n), topic=args.target))
        hang("committed")
    elif args.mode == "hang":
        with factory() as uow:
            place_order(uow, HANGING_ORDER, args.target)
            hang("in-transaction")
    elif args.mode == "relay-crash":
        asyncio.run(relay_until_drained(client, args.database, args.target, args.count))
    else:
        asyncio.run(relay_until_drained(client, args.database, args.target))


class DyingRelay(OutboxRelay):
    """Dies in the window between the broker's acknowledgement and the 'published' marks."""

    def _mark_published(self, ids: list[str]) -> None:
        print(f"dying after publishing {len(ids)}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


async def relay_until_drained(
    client: Client, database: str, bootstrap: str, crash_batch: int = 0
) -> None:
    async with KafkaPublisher(bootstrap, client_id="relay-test") as publisher:
        relay = (
            DyingRelay(
                client, database, publisher, batch_size=crash_batch, lease_ttl=timedelta(seconds=2)
            )
            if crash_batch
            else OutboxRelay(client, database, publisher, poll_interval=0.05)
        )
        await relay.start()
        await eventually(lambda: relay.pending_count() == 0, limit=60, what="an empty outbox")
        await relay.stop()
    print("drained", flush=True)


if __name__ == "__main__":
    main()
