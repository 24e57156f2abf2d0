"""The emulated Hub's own `.safetensors` reader and writer, written from the format's specification.

The format, as the safetensors project documents it (README, "Format"): the first 8 bytes are N, an unsigned
little-endian 64-bit integer; the next N bytes are the header, a UTF-8 JSON object that must begin with `{`
and maps each tensor's name to its `dtype`, `shape` and `data_offsets` ([begin, end) relative to the byte
buffer that follows the header), with an optional `__metadata__` map of strings to strings; the header may
be padded with spaces (0x20), and the reference writer pads it to a multiple of 8 bytes; the rest of the file
is the tensor data. The reference implementation refuses headers larger than 100 MB.

Element sizes are those of the safetensors `Dtype` enumeration (BOOL takes one byte; F4 and the F6 types are
packed below a byte). The emulator keeps this apart from the tool's own reader (`weights.safetensors`) on
purpose: the files the emulated Hub serves are then a second, independent reading of the format, and a
mistake in either shows up as a disagreement in the tests.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LENGTH_BYTES = 8
MAX_HEADER_BYTES = 100_000_000
METADATA_KEY = "__metadata__"
ELEMENT_BYTES: dict[str, float] = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "F8_E8M0": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
    "F4": 0.5,
    "F6_E2M3": 0.75,
    "F6_E3M2": 0.75,
}
"""Bytes per element of each dtype of the safetensors specification, as stored."""
_BITS = re.compile(r"^[A-Z]+(\d+)")


class SafetensorsError(ValueError):
    """The bytes are not a `.safetensors` file this reader understands."""


@dataclass(frozen=True)
class Tensor:
    """One header entry: a tensor's name, dtype and shape."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def elements(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """The bytes its data takes in the file (packed sub-byte dtypes rounded up to a whole byte)."""
        return math.ceil(self.elements * element_bytes(self.dtype))


def element_bytes(dtype: str) -> float:
    """Bytes per element of `dtype`; a name outside the table is read by the bit width it starts with (the
    specification's names all do: `U16`, `F8_E4M3`), else SafetensorsError."""
    if dtype in ELEMENT_BYTES:
        return ELEMENT_BYTES[dtype]
    bits = _BITS.match(dtype)
    if bits is None:
        raise SafetensorsError(f"unknown safetensors dtype {dtype!r}")
    return int(bits.group(1)) / 8


def encode(tensors: Iterable[Tensor], *, data: bytes | None = None, metadata: Mapping[str, str] | None = None) -> bytes:
    """A `.safetensors` file of `tensors` laid out one after the other, then `data` (None: the header only)."""
    header: dict[str, Any] = {METADATA_KEY: dict(metadata)} if metadata else {}
    offset = 0
    for tensor in tensors:
        header[tensor.name] = {
            "dtype": tensor.dtype,
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + tensor.nbytes],
        }
        offset += tensor.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % LENGTH_BYTES)
    if data is not None and len(data) != offset:
        raise ValueError(f"the tensors take {offset} bytes, the data has {len(data)}")
    return struct.pack("<Q", len(text)) + text + (data or b"")


def read_header(content: bytes) -> dict[str, Any]:
    """The header of a file whose first bytes are `content` (the tensor data may be missing)."""
    if len(content) < LENGTH_BYTES:
        raise SafetensorsError("shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", content[:LENGTH_BYTES])
    if not 0 < length <= MAX_HEADER_BYTES or len(content) < LENGTH_BYTES + length:
        raise SafetensorsError(f"a header of {length} bytes does not fit the file")
    raw = content[LENGTH_BYTES : LENGTH_BYTES + length]
    if not raw.startswith(b"{"):
        raise SafetensorsError("the header does not begin with '{'")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SafetensorsError(f"the header is not JSON ({error})") from None
    if not isinstance(header, dict):
        raise SafetensorsError("the header is not a JSON object")
    return header


def tensors_of(header: Mapping[str, Any]) -> list[Tensor]:
    """The tensors a header lists (its `__metadata__` aside), in the header's order."""
    found = []
    for name, entry in header.items():
        if name == METADATA_KEY:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("shape"), list) or "dtype" not in entry:
            raise SafetensorsError(f"tensor {name!r} has no dtype and shape")
        found.append(Tensor(name, str(entry["dtype"]), tuple(int(size) for size in entry["shape"])))
    return found


def parameters_per_dtype(headers: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Elements per dtype over every header: what the Hub's API reports as `safetensors.parameters`."""
    counts: dict[str, int] = {}
    for header in headers:
        for tensor in tensors_of(header):
            counts[tensor.dtype] = counts.get(tensor.dtype, 0) + tensor.elements
    return counts
