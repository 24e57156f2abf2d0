"""The event-stream encoder, checked against botocore's own decoder."""

from __future__ import annotations

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from llm_engineering.local.eventstream import encode_message, payload_part, rechunk, stream_exception


def decode(data: bytes) -> list[tuple[dict[str, str], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(dict(message.headers), message.payload) for message in buffer]


def test_payload_parts_decode_with_botocore() -> None:
    messages = decode(payload_part(b"data:{}\n\n") + payload_part("é".encode()[:1]))

    assert messages == [
        (
            {":event-type": "PayloadPart", ":content-type": "application/octet-stream", ":message-type": "event"},
            b"data:{}\n\n",
        ),
        (
            {":event-type": "PayloadPart", ":content-type": "application/octet-stream", ":message-type": "event"},
            b"\xc3",
        ),
    ]


def test_stream_exceptions_carry_their_modeled_fields() -> None:
    [(headers, payload)] = decode(stream_exception("ModelStreamError", "container died", "ModelError"))

    assert headers == {
        ":exception-type": "ModelStreamError",
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    assert payload == b'{"Message": "container died", "ErrorCode": "ModelError"}'


def test_a_corrupted_message_fails_botocores_checksum() -> None:
    message = bytearray(encode_message({":event-type": "PayloadPart"}, b"abc"))
    message[-5] ^= 0xFF

    with pytest.raises(ChecksumMismatch):
        decode(bytes(message))


def test_rechunk_cuts_at_the_given_sizes_in_turn() -> None:
    pieces = [b"abcdefgh", b"ij", b"klmnopqrstu"]

    assert list(rechunk(pieces, [3, 5])) == [b"abc", b"defgh", b"ijk", b"lmnop", b"qrs", b"tu"]
    assert b"".join(rechunk(pieces, [1])) == b"abcdefghijklmnopqrstu"
