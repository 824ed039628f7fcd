"""`python -m examples.university_credit --shared-records DIR --credits credits.csv --students
roster.txt` (see README.md)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from examples.university_credit.app import Config, create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:19092")
    parser.add_argument("--applications", default="127.0.0.1:50052", help="its gRPC address")
    parser.add_argument("--shared-records", type=Path, required=True)
    parser.add_argument("--credits", type=Path, required=True)
    parser.add_argument("--students", type=Path, required=True, help="one Stint id per line")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    students = frozenset(args.students.read_text().split())
    config = Config(
        args.bootstrap_servers, args.applications, args.shared_records, args.credits, students
    )
    app, _ = create_app(config)
    asyncio.run(app.run())


if __name__ == "__main__":
    main()
