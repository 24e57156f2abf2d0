"""`manifest.json`: what a complete stage holds, written last so a half-finished stage never has one.

It records the model, the commit the files came from, and each file's size and sha256 (and the checksum
S3 computes for it, full-object or composite, so `--verify` can ask S3 instead of downloading). It never
holds a token or anything else secret: it is read by whoever can read the bucket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from llm_engineering import TOOL_NAME, __version__

MANIFEST_NAME = "manifest.json"
FORMAT = f"{TOOL_NAME}/staged-model/1"


def size_label(nbytes: float) -> str:
    """`15.2 GB`, `68.9 KB`, `512 B` (decimal units, as S3 and the Hub show sizes)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{int(nbytes)} B"


class ManifestError(ValueError):
    """The object is not a manifest this tool wrote (or not one it can read)."""


@dataclass(frozen=True)
class StagedFile:
    name: str
    size: int
    sha256: str
    """Hex digest of the whole file."""
    s3_checksum: str
    """S3's ChecksumSHA256 of the object: base64, `-<parts>` appended for a multipart upload."""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "sha256": self.sha256, "s3_checksum": self.s3_checksum}


@dataclass(frozen=True)
class Manifest:
    model_id: str
    commit: str
    revision: str | None
    """HF_MODEL_REVISION as asked (None: the default branch), resolved to `commit`."""
    files: tuple[StagedFile, ...]
    skipped: tuple[str, ...] = ()
    staged_at: str = ""
    tool_version: str = __version__

    @property
    def total_bytes(self) -> int:
        return sum(item.size for item in self.files)

    def file(self, name: str) -> StagedFile | None:
        return next((item for item in self.files if item.name == name), None)

    def same_content(self, other: Manifest) -> bool:
        """The same model, commit and files (the time of staging aside)."""
        return (self.model_id, self.commit, self.revision, self.files) == (
            other.model_id,
            other.commit,
            other.revision,
            other.files,
        )

    def matches(self, model_id: str, revision: str | None) -> bool:
        """Whether this stage serves `model_id` at `revision` (a commit, the revision it was asked as, or the
        default branch when both are unset)."""
        if model_id != self.model_id:
            return False
        if revision is None:
            return self.revision in (None, "main")
        return revision in (self.commit, self.revision)

    def to_json(self) -> bytes:
        body = {
            "format": FORMAT,
            "model_id": self.model_id,
            "revision": self.revision,
            "commit": self.commit,
            "staged_at": self.staged_at,
            "tool_version": self.tool_version,
            "total_bytes": self.total_bytes,
            "files": [item.as_dict() for item in self.files],
            "skipped": list(self.skipped),
        }
        return (json.dumps(body, indent=2) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            body = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ManifestError(f"it is not JSON ({error})") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise ManifestError(f"it is not a {FORMAT} manifest")
        try:
            files = tuple(
                StagedFile(str(item["name"]), int(item["size"]), str(item["sha256"]), str(item["s3_checksum"]))
                for item in body["files"]
            )
            return cls(
                model_id=str(body["model_id"]),
                commit=str(body["commit"]),
                revision=body.get("revision"),
                files=files,
                skipped=tuple(body.get("skipped") or ()),
                staged_at=str(body.get("staged_at") or ""),
                tool_version=str(body.get("tool_version") or ""),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ManifestError(f"a field is missing or malformed ({error})") from None
