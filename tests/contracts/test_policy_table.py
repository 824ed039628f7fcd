"""The policy table (docs/policies.md and `stint policy`) is the declared policies, up to date."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stint_applications.entrypoints.policy import APPLICATIONS_POLICY
from stint_listings.entrypoints.policy import LISTINGS_POLICY
from stint_notifications.entrypoints.policy import NOTIFICATIONS_POLICY
from stint_payouts.entrypoints.policy import PAYOUTS_POLICY
from stint_runtime.cli import main
from stint_runtime.grpc.policy import ServicePolicy
from stint_runtime.grpc.policy_table import DOC_PATH, REGENERATE, markdown, policy_rows

REPOSITORY = Path(__file__).resolve().parents[2]
POLICIES = {
    "listings": LISTINGS_POLICY,
    "applications": APPLICATIONS_POLICY,
    "payouts": PAYOUTS_POLICY,
    "notifications": NOTIFICATIONS_POLICY,
}


def test_the_generated_doc_is_up_to_date() -> None:
    written = (REPOSITORY / DOC_PATH).read_text()
    assert written == markdown(), f"{DOC_PATH} is out of date: run {REGENERATE}"


@pytest.mark.parametrize("service", list(POLICIES))
def test_every_rule_of_the_policy_is_a_row(service: str) -> None:
    policy: ServicePolicy = POLICIES[service]
    rows = {row.rpc: row for row in policy_rows(service)}
    assert rows.keys() == policy.rules.keys()
    for name, rule in policy.rules.items():
        row = rows[name]
        assert set(row.roles) == set(rule.roles)
        assert (row.anonymous, row.mutating, row.idempotency_key_required) == (
            rule.public,
            rule.mutating,
            rule.mutating,
        )


def test_stint_policy_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "listings", "--json"]) == 0
    rows = {row["rpc"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["GetListing"] == {
        "service": "stint.listings.v1.ListingsService",
        "rpc": "GetListing",
        "roles": ["employer", "student", "admin"],
        "anonymous": True,
        "mutating": False,
        "idempotency_key_required": False,
    }
    assert rows["CreateListing"]["roles"] == ["employer"]
    assert rows["CreateListing"]["idempotency_key_required"] is True


def test_stint_policy_text_lists_every_service(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy"]) == 0
    out = capsys.readouterr().out
    for policy in POLICIES.values():
        for name in policy.rules:
            assert f"{policy.service}/{name} " in out


def test_stint_policy_refuses_an_unknown_service(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "nope"]) == 2
    assert "unknown service 'nope'" in capsys.readouterr().err


def test_the_readme_says_public_reads_are_anonymous() -> None:
    readme = (REPOSITORY / "README.md").read_text()
    assert "authentication on every RPC except health;" not in readme
    assert "anonymous by design" in readme
