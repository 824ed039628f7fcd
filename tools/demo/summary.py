"""The demo's closing summary: what happened, amounts in minor units, trace ids."""

from __future__ import annotations

from tools.demo.journey import Journey


def summary(journey: Journey, ok: bool, seconds: float) -> str:
    facts = journey.facts
    lines = [
        "",
        f"demo {'complete' if ok else 'INCOMPLETE'} in {seconds:.1f}s "
        f"({journey.gw.calls} gRPC calls; run id {journey.cast.run})",
        *(f"  listing {title}: {status}" for title, status in facts.listings.items()),
        *(f"  engagement of {name}: {status}" for name, status in facts.engagements.items()),
        *(f"  payout to {name}: {line}" for name, line in facts.payouts.items()),
        *(
            f"  ledger of the org, {what}: {amount} (minor units)"
            for what, amount in facts.ledger.items()
        ),
        f"  completion records verified: {', '.join(facts.records_verified) or 'none'}",
        f"  university webhooks verified: {facts.webhooks_verified}",
        f"  emails read back: {sum(len(v) for v in facts.emails.values())}",
        f"  platform clock moved: +{facts.clock_moved_days:g} days",
        *(f"  trace of the {what}: {trace_id}" for what, trace_id in facts.traces.items()),
    ]
    return "\n".join(lines)
