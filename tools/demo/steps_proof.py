"""Steps: completion records verified, the university's webhook, the emails."""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from stint.applications.v1 import resources_pb2 as app_resources
from stint.applications.v1 import service_pb2 as app

from tools.demo.context import (
    COMPLETED,
    Demo,
)
from tools.demo.gateway import StepFailed, until
from tools.demo.mailbox import emails_to


async def completion_records(demo: Demo) -> str:
    keys = (
        await demo.call("applications", "ListSigningKeys", app.ListSigningKeysRequest(), None)
    ).keys
    public = {k.key_id: Ed25519PublicKey.from_public_bytes(k.public_key) for k in keys}
    lines = []
    for key, name in (("dashboard-1", "Amara"), ("dashboard-2", "Bo")):
        request = app.GetCompletionRecordRequest(engagement_id=demo.engs[key].id)
        reply = await demo.call(
            "applications", "GetCompletionRecord", request, demo.student[name].user
        )
        record = reply.record
        verified = await demo.call(
            "applications",
            "VerifyCompletionRecord",
            app.VerifyCompletionRecordRequest(record=record),
            None,
        )
        if not verified.valid:
            raise StepFailed(f"{name}'s completion record is not valid: {verified.reason}")
        try:
            public[record.key_id].verify(record.signature, record.claim_bytes)
        except (KeyError, InvalidSignature) as refused:
            raise StepFailed(f"{name}'s record fails offline verification: {refused!r}") from None
        tampered = app_resources.CompletionRecord()
        tampered.CopyFrom(record)
        tampered.claim_bytes = record.claim_bytes + b" "
        check = await demo.call(
            "applications",
            "VerifyCompletionRecord",
            app.VerifyCompletionRecordRequest(record=tampered),
            None,
        )
        if check.valid:
            raise StepFailed("a tampered completion record was accepted")
        demo.facts.records_verified.append(record.id)
        lines.append(f"{name} {record.id}")
    return (
        f"{', '.join(lines)}: valid by VerifyCompletionRecord and offline with Ed25519 key "
        f"{record.key_id} from ListSigningKeys; a tampered copy is refused"
    )


async def webhook_received(demo: Demo) -> str:
    engagement_id = demo.engs["dashboard-1"].id

    async def arrived() -> list[dict[str, Any]] | None:
        mine = [e for e in demo.university.events(COMPLETED) if e.get("subject") == engagement_id]
        return mine or None

    events = await until(arrived, "the university's EngagementCompleted webhook", limit=45)
    demo.facts.webhooks_verified = len(demo.university.verified)
    record_id = events[0].get("data", {}).get("completion_record_id", "?")
    return (
        f"EngagementCompleted for {engagement_id} (record {record_id}) received, "
        f"signature verified with standardwebhooks"
    )


async def emails(demo: Demo) -> str:
    cast = demo.cast
    expected = {
        cast.employer_email: ["Your listing was not approved", "New application"],
        **{s.email: ["New project matching your skills"] for s in cast.students},
    }
    expected[demo.student["Chen"].email].append("Your application expired")
    expected[demo.student["Bo"].email].append("Register a payout account")
    expected[demo.student["Amara"].email] += ["You were paid", "Completion record issued"]
    expected[cast.admin_email] = ["Dispute to decide"]

    async def all_there() -> dict[str, list[str]] | None:
        got = {address: emails_to(demo.maildir, address) for address in expected}
        missing = [s for a, subjects in expected.items() for s in subjects if s not in got[a]]
        return None if missing else got

    demo.facts.emails = await until(all_there, f"emails in {demo.maildir}", limit=45)
    total = sum(len(v) for v in demo.facts.emails.values())
    return f"{total} emails to the 8 people read back from {demo.maildir}"
