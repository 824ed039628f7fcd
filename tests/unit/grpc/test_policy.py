"""A policy names exactly its service's methods: roles decide, public RPCs admit anyone."""

from __future__ import annotations

import pytest
from stint_listings.entrypoints.policy import LISTINGS_POLICY, LISTINGS_SERVICE
from stint_runtime.errors import PermissionDenied
from stint_runtime.grpc.auth import ANONYMOUS, Principal
from stint_runtime.grpc.policy import PolicyError, Rule, ServicePolicy, full_method_name, rule

ADMIN = Principal("a", "admin")
STUDENT = Principal("s", "student")
EMPLOYER = Principal("e", "employer", "org-1")


def test_a_complete_policy_covers_the_service() -> None:
    LISTINGS_POLICY.check_covers(LISTINGS_SERVICE)


def test_a_missing_or_unknown_method_fails_the_check() -> None:
    rules = dict(LISTINGS_POLICY.rules)
    del rules["CancelListing"]
    with pytest.raises(PolicyError, match="CancelListing"):
        ServicePolicy(LISTINGS_POLICY.service, rules).check_covers(LISTINGS_SERVICE)
    rules["CancelListing"] = rules["Typo"] = rule("admin", mutating=True)
    with pytest.raises(PolicyError, match="Typo"):
        ServicePolicy(LISTINGS_POLICY.service, rules).check_covers(LISTINGS_SERVICE)
    with pytest.raises(PolicyError, match="used for"):
        ServicePolicy("stint.other.v1.Other", LISTINGS_POLICY.rules).check_covers(LISTINGS_SERVICE)


def test_roles_decide_and_the_wrong_role_is_permission_denied() -> None:
    assert LISTINGS_POLICY.authorize("ApproveListing", ADMIN).mutating
    with pytest.raises(PermissionDenied, match="student may not call ApproveListing"):
        LISTINGS_POLICY.authorize("ApproveListing", STUDENT)
    with pytest.raises(PermissionDenied):
        LISTINGS_POLICY.authorize("CreateListing", ANONYMOUS)


def test_public_rules_admit_anonymous_callers_and_their_roles() -> None:
    assert LISTINGS_POLICY.authorize("GetListing", ANONYMOUS).public
    assert LISTINGS_POLICY.authorize("GetListing", EMPLOYER)
    admins_only_public = rule("admin", mutating=False, public=True)
    assert admins_only_public.allows(ANONYMOUS)
    assert not admins_only_public.allows(STUDENT)


def test_rules_refuse_unknown_roles_and_public_mutations() -> None:
    with pytest.raises(PolicyError, match="unknown roles"):
        Rule(roles=frozenset({"root"}), mutating=False)  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="public"):
        rule("admin", mutating=True, public=True)


def test_full_method_name() -> None:
    assert full_method_name("a.v1.S", "Do") == "/a.v1.S/Do"
