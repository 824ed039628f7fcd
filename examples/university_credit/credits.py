"""The credit ledger: one CSV line per verified completion record, written at most once."""

from __future__ import annotations

import csv
from pathlib import Path

from stint.applications.v1 import resources_pb2

COLUMNS = (
    "record_id",
    "student_id",
    "engagement_id",
    "project",
    "employer_org_id",
    "hours",
    "outcome",
    "completed",
)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: str) -> str:
    """`value` safe for a spreadsheet: text an employer or student typed (a listing title) that
    starts like a formula is prefixed with ' so the spreadsheet shows it instead of running it."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def credited(path: Path) -> set[str]:
    """Record ids already credited (a redelivered event must not credit twice)."""
    if not path.exists():
        return set()
    with path.open(newline="") as file:
        return {row["record_id"] for row in csv.DictReader(file)}


def append_credit(path: Path, claim: resources_pb2.CompletionClaim) -> bool:
    """Append the claim's credit line; False when the record was already credited."""
    if cell(claim.record_id) in credited(path):
        return False
    new = not path.exists()
    with path.open("a", newline="") as file:
        writer = csv.writer(file)
        if new:
            writer.writerow(COLUMNS)
        writer.writerow(
            (
                cell(claim.record_id),
                cell(claim.student_id),
                cell(claim.engagement_id),
                cell(claim.listing_title),
                cell(claim.employer_org_id),
                claim.estimated_hours,
                resources_pb2.CompletionOutcome.Name(claim.outcome).removeprefix(
                    "COMPLETION_OUTCOME_"
                ),
                claim.complete_time.ToJsonString(),
            )
        )
    return True
