"""Safetensors headers: the JSON table of tensors at the start of every `.safetensors` file.

A file is an 8-byte little-endian header length, the header (JSON: tensor name -> dtype, shape, data
offsets; plus an optional `__metadata__` of strings), then the tensor bytes. Reading the header alone
tells a model's parameter count per dtype, which is all the memory fit needs, so preflight reads a few
kilobytes of each staged shard instead of gigabytes.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LENGTH_BYTES = 8
MAX_HEADER_BYTES = 100 * 1024 * 1024
"""The safetensors format refuses headers above 100 MB; so does this reader."""
METADATA_KEY = "__metadata__"


class HeaderError(ValueError):
    """The bytes are not a safetensors header."""


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def elements(self) -> int:
        return math.prod(self.shape)


def header_length(prefix: bytes) -> int:
    """The header's length from the file's first 8 bytes."""
    if len(prefix) < LENGTH_BYTES:
        raise HeaderError("the file is shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", prefix[:LENGTH_BYTES])
    if length == 0 or length > MAX_HEADER_BYTES:
        raise HeaderError(f"the header length {length} is outside 1..{MAX_HEADER_BYTES} bytes")
    return length


def parse_header(data: bytes) -> dict[str, Any]:
    """The header JSON (without the 8 length bytes)."""
    try:
        header = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HeaderError(f"the header is not JSON ({error})") from None
    if not isinstance(header, dict):
        raise HeaderError("the header is not a JSON object")
    return header


def tensors(header: Mapping[str, Any]) -> list[Tensor]:
    """The tensors a header describes, in file order."""
    found = []
    for name, entry in header.items():
        if name == METADATA_KEY:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("shape"), list) or "dtype" not in entry:
            raise HeaderError(f"tensor {name!r} has no dtype and shape")
        found.append(Tensor(name, str(entry["dtype"]), tuple(int(size) for size in entry["shape"])))
    return found


def parameter_counts(headers: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Elements per dtype over every header: what the Hub reports as `safetensors.parameters`."""
    counts: dict[str, int] = {}
    for header in headers:
        for tensor in tensors(header):
            counts[tensor.dtype] = counts.get(tensor.dtype, 0) + tensor.elements
    return counts
