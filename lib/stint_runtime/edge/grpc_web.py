"""gRPC-Web framing (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md), unary only."""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterable
from typing import Final

CONTENT_TYPES: Final = (
    "application/grpc-web",
    "application/grpc-web+proto",
    "application/grpc-web-text",
    "application/grpc-web-text+proto",
)
DATA: Final = 0x00
TRAILERS: Final = 0x80
HEADER = struct.Struct(">BI")


class FramingError(ValueError):
    """The body is not one gRPC-Web message."""


def is_grpc_web(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in CONTENT_TYPES


def is_text(content_type: str) -> bool:
    return "grpc-web-text" in content_type.lower()


def frame(flag: int, payload: bytes) -> bytes:
    return HEADER.pack(flag, len(payload)) + payload


def decode_request(body: bytes, text: bool) -> bytes:
    """The message of a unary request (its first data frame)."""
    if text:
        try:
            body = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise FramingError(f"not base64: {error}") from None
    if len(body) < HEADER.size:
        raise FramingError("shorter than a frame header")
    flag, length = HEADER.unpack_from(body)
    if flag & 0x01:
        raise FramingError("compressed messages are not supported")
    if flag != DATA or len(body) < HEADER.size + length:
        raise FramingError("not a complete data frame")
    return body[HEADER.size : HEADER.size + length]


def percent_encoded(message: str) -> str:
    """grpc-message encoding: UTF-8, with `%` and bytes outside printable ASCII as %XX."""
    return "".join(
        chr(byte) if 0x20 <= byte <= 0x7E and byte != 0x25 else f"%{byte:02X}"
        for byte in message.encode()
    )


def encode_response(
    message: bytes | None, code: int, details: str, trailers: Iterable[tuple[str, str]], text: bool
) -> bytes:
    """The data frame (on success) and the trailer frame with grpc-status and grpc-message."""
    lines = [f"grpc-status:{code}", f"grpc-message:{percent_encoded(details)}"]
    lines += [f"{key}:{value}" for key, value in trailers]
    body = b"" if message is None else frame(DATA, message)
    body += frame(TRAILERS, "".join(f"{line}\r\n" for line in lines).encode())
    return base64.b64encode(body) if text else body
