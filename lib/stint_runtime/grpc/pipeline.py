"""What every unary RPC of a Stint service goes through, in order: authentication, policy,
validation, idempotency (mutating RPCs), the servicer, and the mapping of errors to statuses."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2  # type: ignore[import-untyped]

from stint_runtime import metrics
from stint_runtime.errors import DomainError, InvalidArgument, Unauthenticated
from stint_runtime.failures import is_transient
from stint_runtime.grpc.auth import ANONYMOUS, Principal, TokenVerifier, acting_as
from stint_runtime.grpc.correlation import Correlation, correlate, error_trailers
from stint_runtime.grpc.idempotency import IDEMPOTENCY_KEY_HEADER, IdempotencyStore, require_key
from stint_runtime.grpc.policy import Rule, ServicePolicy
from stint_runtime.grpc.validation import InvalidRequestError, RequestValidator

_log = logging.getLogger(__name__)

INTERNAL_MESSAGE = "internal error"
UNAVAILABLE_MESSAGE = (
    "a dependency of the service is unavailable; retry (with the same idempotency key)"
)
Behavior = Callable[[Any, Any], Any]
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


@dataclass(frozen=True)
class MethodSpec:
    """One RPC the pipeline guards: its policy and its message types."""

    full_name: str
    name: str
    policy: ServicePolicy
    request_type: type[Message]
    response_type: type[Message]

    @property
    def rule(self) -> Rule:
        return self.policy.rule_for(self.name)


def error_details(error: DomainError) -> list[Any]:
    """A google.rpc.BadRequest naming the violated fields of an invalid request, else nothing."""
    if isinstance(error, InvalidRequestError):
        violations = error.violations
    elif isinstance(error, InvalidArgument):
        violations = [(error.field, error.message)]
    else:
        return []
    return [
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=path, description=message)
                for path, message in violations
            ]
        )
    ]


class CallPipeline(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps the handlers of the registered methods; other methods (health, reflection) pass."""

    def __init__(
        self,
        methods: Mapping[str, MethodSpec],
        *,
        verifier: TokenVerifier,
        validator: RequestValidator,
        idempotency: IdempotencyStore | None,
    ) -> None:
        self.methods = dict(methods)
        self.verifier = verifier
        self.validator = validator
        self.idempotency = idempotency

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        handler = await continuation(handler_call_details)
        spec = self.methods.get(handler_call_details.method)
        if spec is None or handler is None or handler.unary_unary is None:
            return handler
        behavior: Behavior = handler.unary_unary

        async def guarded(request: Message, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
            return await self.handle(spec, behavior, request, context)

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    async def handle(
        self,
        spec: MethodSpec,
        behavior: Behavior,
        request: Message,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> Message:
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        service, _, method = spec.full_name.lstrip("/").partition("/")
        where = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method}
        metrics.rpc_server_active.add(1, where)
        try:
            return await self._handle(spec, behavior, request, context)
        except grpc.aio.AbortError:
            code = context.code() or grpc.StatusCode.UNKNOWN
            raise
        finally:
            metrics.rpc_server_active.add(-1, where)
            metrics.rpc_server_duration.record(
                (time.perf_counter() - started) * 1000,
                {**where, "rpc.grpc.status_code": code.value[0]},
            )

    async def _handle(
        self,
        spec: MethodSpec,
        behavior: Behavior,
        request: Message,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> Message:
        metadata = dict(context.invocation_metadata() or ())
        correlation = correlate(metadata)
        context.set_trailing_metadata(correlation.metadata)
        await context.send_initial_metadata(correlation.metadata)
        try:
            principal = await self.authenticate(spec.rule, metadata.get("authorization"))
            rule = spec.policy.authorize(spec.name, principal)
            self.validator.check(request)
            with acting_as(principal):
                if not rule.mutating:
                    return await _invoke(behavior, request, context)
                return await self._idempotent(spec, principal, metadata, behavior, request, context)
        except DomainError as error:
            await _abort(context, correlation, error.code, error.message, error_details(error))
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            failure = {"error": type(error).__name__, "request_id": correlation.request_id}
            if is_transient(error):
                _log.warning("dependency unavailable in %s", spec.full_name, extra=failure)
                await _abort(context, correlation, grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_MESSAGE)
            _log.exception("unexpected error in %s", spec.full_name, extra=failure)
            await _abort(context, correlation, grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)
        raise AssertionError("context.abort returned")  # pragma: no cover

    async def authenticate(self, rule: Rule, authorization: Any) -> Principal:
        """The caller named by `authorization: Bearer <jwt>`; anonymous only on public RPCs."""
        if authorization is None:
            if rule.public:
                return ANONYMOUS
            raise Unauthenticated("missing bearer token in the authorization metadata")
        scheme, _, token = str(authorization).partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("authorization metadata must be 'Bearer <token>'")
        if self.verifier.uses_network:
            return await asyncio.to_thread(self.verifier.verify, token)
        return self.verifier.verify(token)

    async def _idempotent(
        self,
        spec: MethodSpec,
        principal: Principal,
        metadata: dict[str, Any],
        behavior: Behavior,
        request: Message,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> Message:
        key = require_key(metadata.get(IDEMPOTENCY_KEY_HEADER))
        if self.idempotency is None:
            raise RuntimeError("a mutating RPC is served without an idempotency store")
        return await self.idempotency.execute(
            subject=principal.subject,
            key=key,
            method=spec.full_name,
            request=request,
            response_type=spec.response_type,
            handler=lambda: _invoke(behavior, request, context),
        )


async def _abort(
    context: grpc.aio.ServicerContext[Any, Any],
    correlation: Correlation,
    code: grpc.StatusCode,
    message: str,
    details: list[Any] | None = None,
) -> None:
    """Ends the call with `code`; the trailers carry the ids and the google.rpc.Status."""
    trailers = error_trailers(correlation, code.value[0], message, details or ())
    await context.abort(code, message, trailing_metadata=trailers)


async def _invoke(
    behavior: Behavior, request: Message, context: grpc.aio.ServicerContext[Any, Any]
) -> Message:
    result = behavior(request, context)
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, Message):
        raise TypeError(f"servicer returned {type(result).__name__}, not a protobuf message")
    return result
