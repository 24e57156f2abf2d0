"""AWS event-stream encoding (`application/vnd.amazon.eventstream`), the framing of response streams.

botocore only decodes this format; the emulator needs the encoder. A message is a prelude (total length,
headers length, CRC32 of both), string headers, the payload and a CRC32 of everything before it.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterable, Iterator

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING_HEADER = 7


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message with string-valued `headers` around `payload`."""
    encoded_headers = b"".join(_encode_header(name, value) for name, value in headers.items())
    total_length = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total_length, len(encoded_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + encoded_headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _encode_header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode("utf-8"), value.encode("utf-8")
    return struct.pack(">B", len(raw_name)) + raw_name + struct.pack(">BH", _STRING_HEADER, len(raw_value)) + raw_value


def payload_part(data: bytes) -> bytes:
    """A `PayloadPart` event carrying `data` (boto3 shows it as `{"PayloadPart": {"Bytes": data}}`)."""
    headers = {":event-type": "PayloadPart", ":content-type": "application/octet-stream", ":message-type": "event"}
    return encode_message(headers, data)


def stream_exception(error_type: str, message: str, error_code: str | None = None) -> bytes:
    """A modeled error event of the stream, e.g. `ModelStreamError` or `InternalStreamFailure`."""
    body: dict[str, str] = {"Message": message}
    if error_code is not None:
        body["ErrorCode"] = error_code
    headers = {":exception-type": error_type, ":content-type": "application/json", ":message-type": "exception"}
    return encode_message(headers, json.dumps(body).encode("utf-8"))


def rechunk(pieces: Iterable[bytes], sizes: list[int], *, flush: bool = False) -> Iterator[bytes]:
    """Regroup a byte stream into chunks of the given sizes, used in turn; the last chunk may be shorter.

    SageMaker forwards the container's bytes as they come, so PayloadPart boundaries fall anywhere: inside
    an event, inside a UTF-8 character, or after several events. Fixed sizes make that happen on purpose.
    With `flush` each piece goes out at once, cut in two at the next size (boundaries still fall inside events,
    and a token is not held back for the next one).
    """
    if flush:
        for turn, piece in enumerate(pieces):
            size = sizes[turn % len(sizes)]
            yield from (part for part in (piece[:size], piece[size:]) if part)
        return
    buffer = bytearray()
    turn = 0
    for piece in pieces:
        buffer += piece
        while len(buffer) >= sizes[turn % len(sizes)]:
            size = sizes[turn % len(sizes)]
            yield bytes(buffer[:size])
            del buffer[:size]
            turn += 1
    if buffer:
        yield bytes(buffer)
