"""Every RPC has a google.api.http binding that the edge (Envoy or the development one) serves:
mutating RPCs take the whole request as the body, reads are GETs, and no two bindings clash."""

from __future__ import annotations

import pytest
from stint_applications.entrypoints.policy import APPLICATIONS_POLICY
from stint_listings.entrypoints.policy import LISTINGS_POLICY
from stint_notifications.entrypoints.policy import NOTIFICATIONS_POLICY
from stint_payouts.entrypoints.policy import PAYOUTS_POLICY
from stint_runtime.edge.routes import SERVICE_MODULES, http_rule, load_routes, service_descriptor
from stint_runtime.grpc.policy import ServicePolicy

POLICIES: dict[str, ServicePolicy] = {
    "listings": LISTINGS_POLICY,
    "applications": APPLICATIONS_POLICY,
    "payouts": PAYOUTS_POLICY,
    "notifications": NOTIFICATIONS_POLICY,
}


@pytest.mark.parametrize("service", SERVICE_MODULES)
def test_every_rpc_has_a_binding_that_fits_its_policy(service: str) -> None:
    policy = POLICIES[service]
    for method in service_descriptor(service).methods:
        assert http_rule(method) is not None, f"{method.full_name} has no google.api.http"
        for route in (r for r in load_routes([service]) if r.method.name == method.name):
            assert route.template.startswith("/v1/"), route.template
            if policy.rule_for(method.name).mutating:
                assert route.verb != "GET", f"{method.name} mutates but is a GET"
                assert route.body == "*", f"{method.name}: body must be the whole request"
            if route.verb == "GET":
                assert route.body == "", f"{method.name}: a GET has no body"


def test_no_two_bindings_share_a_verb_and_path() -> None:
    seen: dict[tuple[str, str], str] = {}
    for route in load_routes():
        key = (route.verb, route.pattern.pattern)
        assert key not in seen, f"{route.method.full_name} and {seen[key]} both bind {key}"
        seen[key] = route.method.full_name


def test_path_variables_name_string_fields_of_the_request() -> None:
    for route in load_routes():
        fields = route.method.input_type.fields_by_name
        for variable in route.fields:
            assert variable in fields, f"{route.template}: no field {variable}"
            assert fields[variable].type == fields[variable].TYPE_STRING, route.template
