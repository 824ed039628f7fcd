"""A payment-provider simulator speaking the subset of Stripe's API that payouts uses.

`python -m stint_runtime.stack.payment_provider --port 12111 --data-dir DIR` serves, on
loopback:
  POST /v1/transfers          form-encoded; `Idempotency-Key` header; Stripe-shaped errors
  GET  /v1/transfers/{id}
  GET  /v1/transfers          ?limit=&starting_after=&transfer_group=
  GET  /_simulator/stats      calls made and the server-side latency of each create
  POST /_simulator/faults     JSON: change latency and failure rates while running

Transfers and idempotency records live in SQLite (committed before a response is sent), so they
survive a restart or kill -9. Faults, drawn per create request:
  failure_rate       500 api_error before anything happens (no transfer)
  decline_rate       400 invalid_request_error `balance_insufficient` (no transfer; the result
                     is kept under the idempotency key, as Stripe keeps executed requests)
  timeout_rate       the connection hangs for `timeout_seconds`, then closes (no transfer)
  lost_response_rate the transfer is made and committed, then the connection closes without a
                     response ("lost response")
A destination starting with `acct_decline` is always declined. A request whose key was already
used returns the first result; the same key with other parameters is an idempotency_error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import secrets
import signal
import sqlite3
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from stint_runtime.stack.processes import ManagedProcess, port_open

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 12111
MAX_BODY = 64 * 1024
SCHEMA = """
CREATE TABLE IF NOT EXISTS transfers (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL, transfer_group TEXT
);
CREATE INDEX IF NOT EXISTS transfers_group ON transfers (transfer_group);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL
);
"""


@dataclass
class Faults:
    latency_ms: float = 0.0
    failure_rate: float = 0.0
    decline_rate: float = 0.0
    timeout_rate: float = 0.0
    lost_response_rate: float = 0.0
    timeout_seconds: float = 5.0

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault setting {name!r}")
            setattr(self, name, float(value))


class _Dropped(Exception):
    """The connection closes without a response."""


class Ledger:
    """The simulator's durable state: transfers and idempotency records in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self.lock = threading.Lock()

    def idempotent(self, key: str) -> tuple[str, int, str] | None:
        row = self._db.execute(
            "SELECT fingerprint, status, body FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else (row[0], int(row[1]), row[2])

    def remember(self, key: str, fingerprint: str, status: int, body: str) -> None:
        self._db.execute(
            "INSERT INTO idempotency (key, fingerprint, status, body) VALUES (?, ?, ?, ?)",
            (key, fingerprint, status, body),
        )

    def add_transfer(self, transfer: dict[str, Any]) -> None:
        seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM transfers").fetchone()[0]
        self._db.execute(
            "INSERT INTO transfers (id, seq, body, transfer_group) VALUES (?, ?, ?, ?)",
            (transfer["id"], seq, json.dumps(transfer), transfer.get("transfer_group")),
        )

    def transaction(self) -> Any:
        return _Transaction(self._db)

    def transfer(self, transfer_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT body FROM transfers WHERE id = ?", (transfer_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def page(
        self, limit: int, starting_after: str, group: str
    ) -> tuple[list[dict[str, Any]], bool]:
        """Newest first, as Stripe lists."""
        clauses, args = [], []
        if starting_after:
            clauses.append("seq < (SELECT seq FROM transfers WHERE id = ?)")
            args.append(starting_after)
        if group:
            clauses.append("transfer_group = ?")
            args.append(group)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(
            f"SELECT body FROM transfers {where} ORDER BY seq DESC LIMIT ?",  # noqa: S608 - fixed clauses
            (*args, limit + 1),
        ).fetchall()
        return [json.loads(r[0]) for r in rows[:limit]], len(rows) > limit

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM transfers").fetchone()[0])


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *rest: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


class Simulator:
    def __init__(self, ledger: Ledger, faults: Faults, seed: int | None = None) -> None:
        self.ledger = ledger
        self.faults = faults
        self.random = random.Random(seed)  # noqa: S311 - fault injection, not security
        self.stats_lock = threading.Lock()
        self.create_calls = 0
        self.create_latencies_ms: list[float] = []
        self.outcomes: dict[str, int] = {}

    def count(self, outcome: str, started: float) -> None:
        with self.stats_lock:
            self.create_calls += 1
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            self.create_latencies_ms.append((time.monotonic() - started) * 1000)

    def draw(self, rate: float) -> bool:
        with self.stats_lock:
            return self.random.random() < rate


def stripe_error(kind: str, message: str, code: str = "", param: str = "") -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return {"error": error}


def form(body: bytes) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}


def new_transfer(params: dict[str, str], amount: int) -> dict[str, Any]:
    metadata = {
        key[len("metadata[") : -1]: value
        for key, value in params.items()
        if key.startswith("metadata[") and key.endswith("]")
    }
    return {
        "id": f"tr_{secrets.token_hex(12)}",
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "balance_transaction": f"txn_{secrets.token_hex(12)}",
        "created": int(time.time()),
        "currency": params["currency"].lower(),
        "description": params.get("description") or None,
        "destination": params["destination"],
        "livemode": False,
        "metadata": metadata,
        "reversals": {"object": "list", "data": [], "has_more": False, "url": ""},
        "reversed": False,
        "source_transaction": None,
        "transfer_group": params.get("transfer_group") or None,
    }


class Handler(BaseHTTPRequestHandler):
    server: ProviderServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: request lines carry destinations in query strings of real providers."""

    @property
    def simulator(self) -> Simulator:
        return self.server.simulator

    def _reply(self, status: int, body: dict[str, Any] | str) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{secrets.token_hex(8)}")
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization", "").startswith("Bearer sk_"):
            return True
        self._reply(401, stripe_error("invalid_request_error", "Invalid API Key provided"))
        return False

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/_simulator/stats":
            self._reply(200, self.server.stats())
            return
        if not self._authorized():
            return
        if url.path == "/v1/transfers":
            query = form(url.query.encode())
            try:
                limit = max(1, min(100, int(query.get("limit", "10"))))
            except ValueError:
                self._reply(
                    400, stripe_error("invalid_request_error", "Invalid integer", "", "limit")
                )
                return
            with self.simulator.ledger.lock:
                data, more = self.simulator.ledger.page(
                    limit, query.get("starting_after", ""), query.get("transfer_group", "")
                )
            self._reply(
                200, {"object": "list", "data": data, "has_more": more, "url": "/v1/transfers"}
            )
            return
        if url.path.startswith("/v1/transfers/"):
            with self.simulator.ledger.lock:
                found = self.simulator.ledger.transfer(url.path.rsplit("/", 1)[-1])
            if found is None:
                self._reply(
                    404,
                    stripe_error(
                        "invalid_request_error", "No such transfer", "resource_missing", "id"
                    ),
                )
            else:
                self._reply(200, found)
            return
        self._reply(
            404, stripe_error("invalid_request_error", f"Unrecognized request URL {url.path}")
        )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0") or 0)
        if length > MAX_BODY:
            self._reply(413, stripe_error("invalid_request_error", "Request too large"))
            return
        body = self.rfile.read(length)
        path = urlparse(self.path).path
        if path == "/_simulator/faults":
            try:
                self.simulator.faults.update(json.loads(body or b"{}"))
            except (ValueError, TypeError) as exc:
                self._reply(400, {"error": str(exc)})
                return
            self._reply(200, asdict(self.simulator.faults))
            return
        if path != "/v1/transfers":
            self._reply(
                404, stripe_error("invalid_request_error", f"Unrecognized request URL {path}")
            )
            return
        if not self._authorized():
            return
        started = time.monotonic()
        try:
            outcome = self._create(form(body))
        except _Dropped:
            self.simulator.count("dropped", started)
            self.close_connection = True
            return
        self.simulator.count(outcome, started)

    def _create(self, params: dict[str, str]) -> str:
        sim, faults = self.simulator, self.simulator.faults
        if faults.latency_ms:
            time.sleep(sim.random.expovariate(1 / faults.latency_ms) / 1000)
        if sim.draw(faults.timeout_rate):
            time.sleep(faults.timeout_seconds)
            raise _Dropped
        if sim.draw(faults.failure_rate):
            self._reply(500, stripe_error("api_error", "An unknown error occurred (simulated)"))
            return "failed"
        problem = self._invalid(params)
        if problem is not None:
            self._reply(400, stripe_error("invalid_request_error", *problem))
            return "invalid"
        key = self.headers.get("Idempotency-Key", "")
        fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        ledger = sim.ledger
        with ledger.lock, ledger.transaction():
            if key and (seen := ledger.idempotent(key)) is not None:
                if seen[0] != fingerprint:
                    status, body = (
                        400,
                        json.dumps(
                            stripe_error(
                                "idempotency_error",
                                "Keys for idempotent requests can only be used with the same "
                                "parameters they were first used with.",
                            )
                        ),
                    )
                else:
                    status, body = seen[1], seen[2]
                replayed = True
            else:
                replayed = False
                if params["destination"].startswith("acct_decline") or sim.draw(
                    faults.decline_rate
                ):
                    status, body = (
                        400,
                        json.dumps(
                            stripe_error(
                                "invalid_request_error",
                                "You have insufficient available funds in your Stripe account.",
                                "balance_insufficient",
                            )
                        ),
                    )
                else:
                    transfer = new_transfer(params, int(params["amount"]))
                    ledger.add_transfer(transfer)
                    status, body = 200, json.dumps(transfer)
                if key:
                    ledger.remember(key, fingerprint, status, body)
        if status == 200 and not replayed and sim.draw(faults.lost_response_rate):
            raise _Dropped
        self._reply(status, body)
        return "replayed" if replayed else ("created" if status == 200 else "declined")

    @staticmethod
    def _invalid(params: dict[str, str]) -> tuple[str, str, str] | None:
        for name in ("amount", "currency", "destination"):
            if not params.get(name):
                return (f"Missing required param: {name}.", "parameter_missing", name)
        if not params["amount"].isdigit() or int(params["amount"]) <= 0:
            return ("Invalid positive integer", "parameter_invalid_integer", "amount")
        if len(params["currency"]) != 3 or not params["currency"].isalpha():
            return (f"Invalid currency: {params['currency']}", "parameter_invalid", "currency")
        return None


class ProviderServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, simulator: Simulator) -> None:
        self.simulator = simulator
        super().__init__((LOOPBACK, port), Handler)

    def stats(self) -> dict[str, Any]:
        sim = self.simulator
        with sim.stats_lock:
            latencies = list(sim.create_latencies_ms)
            outcomes = dict(sim.outcomes)
            calls = sim.create_calls
        with sim.ledger.lock:
            transfers = sim.ledger.count()
        return {
            "create_calls": calls,
            "outcomes": outcomes,
            "transfers": transfers,
            "create_latency_ms": latencies,
            "faults": asdict(sim.faults),
        }


def simulator_process(
    data_dir: Path, port: int, log_path: Path, faults: dict[str, float] | None = None
) -> ManagedProcess:
    """The simulator as a child process (`make run` and tests); call .start() then wait_ready."""
    argv = [sys.executable, "-m", "stint_runtime.stack.payment_provider"]
    argv += ["--port", str(port), "--data-dir", str(data_dir)]
    for name, value in (faults or {}).items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    return ManagedProcess("payment-provider", argv, log_path)


def start_simulator(
    data_dir: Path, port: int, log_path: Path, faults: dict[str, float] | None = None
) -> ManagedProcess:
    process = simulator_process(data_dir, port, log_path, faults)
    process.start()
    process.wait_ready(lambda: port_open(LOOPBACK, port), timeout=30)
    return process


def serve_in_background(data_dir: Path, port: int) -> ProviderServer:
    """The simulator in a daemon thread of this process (`make run`); .shutdown() stops it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = ProviderServer(port, Simulator(Ledger(data_dir / "provider.sqlite3"), Faults()))
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
    ).start()
    return server


def simulator_url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=None)
    for name in (f.name for f in fields(Faults)):
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=None)
    return parser.parse_args(argv)


def serve(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    faults = Faults()
    faults.update(
        {f.name: getattr(args, f.name) for f in fields(Faults) if getattr(args, f.name) is not None}
    )
    server = ProviderServer(
        args.port, Simulator(Ledger(args.data_dir / "provider.sqlite3"), faults, args.seed)
    )

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        f"payment provider simulator on http://{LOOPBACK}:{args.port}", file=sys.stderr, flush=True
    )
    server.serve_forever(poll_interval=0.2)
    server.server_close()


if __name__ == "__main__":
    serve()
