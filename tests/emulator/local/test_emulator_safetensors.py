"""The emulated Hub's own safetensors writer and reader, checked against the tool's reader (`weights.safetensors`):
two readings of the format written apart, which must agree."""

from __future__ import annotations

import struct

import pytest

from llm_engineering.hub import safetensors as tool_reader
from llm_engineering.local.safetensors_files import (
    SafetensorsError,
    Tensor,
    element_bytes,
    encode,
    parameters_per_dtype,
    read_header,
    tensors_of,
)

TABLE = [Tensor("a", "BF16", (3, 5)), Tensor("b", "F4", (7,)), Tensor("c", "I8", (2, 2))]


def test_the_header_is_length_prefixed_padded_json_with_offsets_into_the_data():
    content = encode(TABLE, data=bytes(30 + 4 + 4), metadata={"format": "pt"})
    (length,) = struct.unpack("<Q", content[:8])
    assert length % 8 == 0 and content[8 + length - 1 : 8 + length] in {b"}", b" "}
    header = read_header(content)
    assert header["__metadata__"] == {"format": "pt"}
    assert [header[name]["data_offsets"] for name in "abc"] == [[0, 30], [30, 34], [34, 38]]  # F4: 7 x 4 bits
    assert tensors_of(header) == TABLE


def test_the_tools_reader_reads_what_the_emulator_writes():
    content = encode(TABLE, metadata={"format": "pt"})
    length = tool_reader.header_length(content[:8])
    header = tool_reader.parse_header(content[8 : 8 + length])
    assert tool_reader.parameter_counts([header]) == parameters_per_dtype([read_header(content)])
    assert parameters_per_dtype([read_header(content)]) == {"BF16": 15, "F4": 7, "I8": 4}


def test_sizes_come_from_the_dtype_table_or_the_bit_width_of_the_name():
    assert (element_bytes("BOOL"), element_bytes("F8_E4M3"), element_bytes("F64")) == (1, 1, 8)
    assert element_bytes("U128") == 16
    with pytest.raises(SafetensorsError):
        element_bytes("complex")


@pytest.mark.parametrize(
    "content",
    [
        b"\x01",
        struct.pack("<Q", 0),
        struct.pack("<Q", 64) + b"{}",
        struct.pack("<Q", 2) + b"[]",
        struct.pack("<Q", 3) + b" {}",
    ],
)
def test_what_is_not_a_header_is_refused(content):
    with pytest.raises(SafetensorsError):
        read_header(content)
