"""The checksums a stage is judged by: the file's sha256, and the ChecksumSHA256 S3 keeps for the object.

For an object uploaded in one request S3 keeps the sha256 of the whole object; for a multipart upload,
the sha256 of the parts' sha256 digests, with `-<parts>` (a "composite" checksum). Both are computed here
from the local file with the part size boto3's transfer manager uses, so what S3 reports after the upload
(and at any later `--verify`) can be compared without downloading anything.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

READ_BYTES = 8 * 1024 * 1024
_PARTS_SUFFIX = re.compile(r"-\d+$")


@dataclass(frozen=True)
class Digest:
    sha256: str
    """Hex digest of the whole file."""
    s3_checksum: str
    """What S3 reports as ChecksumSHA256 once the file is uploaded (composite: `-<parts>` appended)."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


class Digester:
    """Both checksums of a stream, fed chunk by chunk (so a file is hashed while it downloads)."""

    def __init__(self, part_size: int | None) -> None:
        self.part_size = part_size
        self._whole = hashlib.sha256()
        self._part = hashlib.sha256()
        self._in_part = 0
        self._parts: list[bytes] = []

    def update(self, chunk: bytes) -> None:
        self._whole.update(chunk)
        if self.part_size is None:
            return
        view = memoryview(chunk)
        while view:
            take = min(len(view), self.part_size - self._in_part)
            self._part.update(view[:take])
            self._in_part += take
            view = view[take:]
            if self._in_part == self.part_size:
                self._parts.append(self._part.digest())
                self._part, self._in_part = hashlib.sha256(), 0

    @property
    def sha256(self) -> str:
        return self._whole.hexdigest()

    def result(self) -> Digest:
        if self.part_size is None:
            return Digest(self._whole.hexdigest(), _b64(self._whole.digest()))
        parts = self._parts + ([self._part.digest()] if self._in_part else [])
        composite = hashlib.sha256(b"".join(parts)).digest()
        return Digest(self._whole.hexdigest(), f"{_b64(composite)}-{len(parts)}")


def digest_file(path: Path, part_size: int | None) -> Digest:
    """Both checksums of `path`; `part_size` None: the file goes up in a single request."""
    digester = Digester(part_size)
    with path.open("rb") as source:
        while chunk := source.read(READ_BYTES):
            digester.update(chunk)
    return digester.result()


def single_part_checksum(sha256_hex: str) -> str:
    """The ChecksumSHA256 S3 keeps for an object uploaded in one request, from its hex sha256."""
    return _b64(bytes.fromhex(sha256_hex))


def same_checksum(reported: str | None, expected: str) -> bool:
    """Whether S3's ChecksumSHA256 is the expected one. HeadObject may leave out the `-<parts>` suffix of a
    composite checksum (moto does; AWS documents it on GetObjectAttributes), so the digests are compared."""
    if not reported:
        return False
    return _PARTS_SUFFIX.sub("", reported) == _PARTS_SUFFIX.sub("", expected)
