"""Child process for the subscriber crash test: counts events per subject, exactly once.

crash  ...  SIGKILLs itself right after the first unit of work commits (before the offset commit)
serve  ...  consumes until SIGTERM, then stops gracefully (commit, leave the group)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from google.protobuf.message import Message
from google.protobuf.wrappers_pb2 import StringValue
from stint.common.v1.events_pb2 import EventEnvelope
from stint_runtime.clock import SystemClock
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.subscriber import Subscriber
from stint_runtime.persistence.mongo import connect
from stint_runtime.persistence.unit_of_work import UnitOfWork, UnitOfWorkFactory
from stint_runtime.settings import StintSettings

COUNTED_TYPE = StringValue.DESCRIPTOR.full_name


def count(event: Message, envelope: EventEnvelope, uow: UnitOfWork) -> None:
    uow.db.counters.update_one(
        {"_id": envelope.subject}, {"$inc": {"count": 1}}, upsert=True, session=uow.session
    )


def die(uow: UnitOfWork) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def serve(args: argparse.Namespace) -> None:
    client = connect(StintSettings(mongodb_uri=args.mongodb_uri))
    factory = UnitOfWorkFactory(client, args.database, "counter", SystemClock())
    if args.mode == "crash":
        factory.add_commit_listener(die)
    async with KafkaPublisher(args.bootstrap, client_id="counter-dlt") as dead_letters:
        subscriber = Subscriber(
            bootstrap_servers=args.bootstrap,
            group_id=args.group,
            topics=[args.topic],
            handlers={COUNTED_TYPE: count},
            uow_factory=factory,
            dead_letters=dead_letters,
            # the killed member must leave the group quickly for the restarted one to join
            session_timeout_ms=3_000,
        )
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await subscriber.start()
        await stop.wait()
        await subscriber.stop()
    print("stopped", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["crash", "serve"])
    for name in ("bootstrap", "mongodb_uri", "database", "topic", "group"):
        parser.add_argument(name)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
