"""The edge serves the services settings lists, and names a service it cannot find."""

from __future__ import annotations

import pytest
from stint_runtime.edge.routes import (
    SERVICE_MODULES,
    ServiceModuleError,
    load_routes,
    methods_by_path,
)
from stint_runtime.settings import DEFAULT_GRPC_PORTS


def test_the_edge_knows_exactly_the_services_settings_lists() -> None:
    assert list(SERVICE_MODULES) == list(DEFAULT_GRPC_PORTS)
    assert {route.service for route in load_routes()} == set(DEFAULT_GRPC_PORTS)


def test_a_service_without_a_contract_module_is_named_not_a_key_error() -> None:
    with pytest.raises(ServiceModuleError, match=r"'reviews'.*stint\.reviews\.v1\.service_pb2"):
        load_routes(("listings", "reviews"))
    with pytest.raises(ServiceModuleError, match="'reviews'"):
        methods_by_path(("reviews",))
