"""What the development edge adds to a call: HTTP/JSON and gRPC-Web through the edge against
the same call straight over gRPC, to an in-process ListingsService stub that answers at once
(so the figures are the edge's own cost: parsing, transcoding, one gRPC hop)."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Callable
from concurrent import futures

import grpc
from stint.listings.v1 import resources_pb2, service_pb2, service_pb2_grpc
from stint_runtime.edge import grpc_web
from stint_runtime.edge.config import EdgeConfig
from stint_runtime.edge.server import EdgeServer
from stint_runtime.stack.processes import free_port

CALLS = 500
LISTING = resources_pb2.Listing(id="L1", title="Build a React dashboard", skills=["react"])


def get_listing(
    request: service_pb2.GetListingRequest, context: grpc.ServicerContext
) -> service_pb2.GetListingResponse:
    return service_pb2.GetListingResponse(listing=LISTING)


STUB = grpc.method_handlers_generic_handler(
    "stint.listings.v1.ListingsService",
    {
        "GetListing": grpc.unary_unary_rpc_method_handler(
            get_listing,
            request_deserializer=service_pb2.GetListingRequest.FromString,
            response_serializer=service_pb2.GetListingResponse.SerializeToString,
        )
    },
)


def measure(name: str, call: Callable[[], None]) -> None:
    for _ in range(20):
        call()
    timings = []
    for _ in range(CALLS):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"  {name:<34} median {statistics.median(timings):6.2f} ms   p95 {p95:6.2f} ms")


def run() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((STUB,))
    grpc_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    config = EdgeConfig("127.0.0.1", free_port(), {"listings": f"127.0.0.1:{grpc_port}"}, ())
    edge = EdgeServer(config)
    threading.Thread(target=edge.serve_forever, daemon=True).start()
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
    stub = service_pb2_grpc.ListingsServiceStub(channel)
    connection = http.client.HTTPConnection("127.0.0.1", config.port)
    request = service_pb2.GetListingRequest(listing_id="L1").SerializeToString()
    framed = grpc_web.frame(grpc_web.DATA, request)

    def direct() -> None:
        stub.GetListing(service_pb2.GetListingRequest(listing_id="L1"))

    def http_json() -> None:
        connection.request("GET", "/v1/listings/L1")
        connection.getresponse().read()

    def web() -> None:
        connection.request(
            "POST",
            "/stint.listings.v1.ListingsService/GetListing",
            body=framed,
            headers={"Content-Type": "application/grpc-web+proto"},
        )
        connection.getresponse().read()

    try:
        print(f"GetListing, {CALLS} sequential calls each (one connection):")
        measure("gRPC straight to the stub", direct)
        measure("HTTP/JSON through the edge", http_json)
        measure("gRPC-Web through the edge", web)
    finally:
        connection.close()
        channel.close()
        edge.shutdown()
        edge.server_close()
        server.stop(0)
