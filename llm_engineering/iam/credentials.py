"""Safe storage of the deployer's access key: one profile in an INI credentials file.

The same format serves both stores: the AWS shared credentials file (where boto3 and the AWS CLI look,
`AWS_PROFILE=<profile>` selects it) and a dedicated key file (`--key-file`, used through
`AWS_SHARED_CREDENTIALS_FILE`). Writes are atomic (temporary file + rename) with mode 0600, and every other
line of the file, comments included, is kept as it was: the user's other profiles are never at risk.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from llm_engineering.errors import UserFacingError

DEFAULT_SHARED_CREDENTIALS_FILE = "~/.aws/credentials"
KEY_FILE_DIRECTORY = Path(".llm-engineering")
"""Where `--key-file` writes without a path (relative to the working directory; .gitignore covers it)."""

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700

_SECTION = re.compile(r"^\s*\[\s*(?P<name>[^\]]*?)\s*\]\s*(?:[#;].*)?$")
_KEY_VALUE = re.compile(r"^\s*(?P<key>[A-Za-z0-9_]+)\s*=\s*(?P<value>.*?)\s*$")


class CredentialsStoreError(UserFacingError):
    """The credentials file cannot be read or written."""


@dataclass(frozen=True)
class AccessKey:
    """An IAM access key; the secret stays wrapped so that no repr, log or message can show it."""

    key_id: str
    secret: SecretStr = field(repr=False)


def shared_credentials_path() -> Path:
    """The shared credentials file boto3 reads: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials."""
    return Path(os.path.expanduser(os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or DEFAULT_SHARED_CREDENTIALS_FILE))


def default_key_file_path(user_name: str) -> Path:
    """`.llm-engineering/<user>.credentials` in the working directory."""
    return KEY_FILE_DIRECTORY / f"{user_name}.credentials"


def _sections(lines: list[str]) -> list[tuple[str | None, list[str]]]:
    """The file as (section name, its lines) blocks; the lines before the first header have no name."""
    blocks: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in lines:
        header = _SECTION.match(line)
        if header:
            blocks.append((header["name"], [line]))
        else:
            blocks[-1][1].append(line)
    return blocks


@dataclass(frozen=True)
class CredentialsFile:
    """One profile of one credentials file.

    `dedicated` marks a file that exists only to hold this key (`--key-file`): it is removed once empty.
    """

    path: Path
    profile: str
    dedicated: bool = False

    # --- reading -----------------------------------------------------------------------------------------

    def _read_lines(self) -> list[str]:
        try:
            return self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as error:
            raise CredentialsStoreError(
                f"Cannot read the credentials file {self.path} ({_reason(error)}): fix its permissions or "
                "choose another location with --key-file."
            ) from None

    def stored_key_id(self) -> str | None:
        """The access key id held under the profile, or None when the file or the profile is absent."""
        return self._stored_values().get("aws_access_key_id")

    def stored_key(self) -> AccessKey | None:
        """The key held under the profile, secret included (a rotation puts it back if the new key fails)."""
        values = self._stored_values()
        if not values.get("aws_access_key_id") or not values.get("aws_secret_access_key"):
            return None
        return AccessKey(values["aws_access_key_id"], SecretStr(values["aws_secret_access_key"]))

    def _stored_values(self) -> dict[str, str]:
        """The first non-empty value of each key in the profile's section (keys lower-cased)."""
        values: dict[str, str] = {}
        for name, block in _sections(self._read_lines()):
            if name != self.profile:
                continue
            for line in block[1:]:
                pair = _KEY_VALUE.match(line)
                if pair and pair["value"]:
                    values.setdefault(pair["key"].lower(), pair["value"])
        return values

    # --- writing -----------------------------------------------------------------------------------------

    def save(self, key: AccessKey) -> None:
        """Write the key under the profile, replacing only that profile's section."""
        section = [
            f"[{self.profile}]\n",
            f"aws_access_key_id = {key.key_id}\n",
            f"aws_secret_access_key = {key.secret.get_secret_value()}\n",
        ]
        blocks = _sections(self._read_lines())
        kept: list[str] = []
        placed = False
        for name, block in blocks:
            if name == self.profile:
                if not placed:  # the first occurrence is replaced in place; duplicates are dropped
                    kept += section + _trailing_blank_lines(block)
                    placed = True
                continue
            kept += block
        if not placed:
            if kept and not kept[-1].endswith("\n"):
                kept[-1] += "\n"
            if kept and kept[-1].strip():
                kept.append("\n")
            kept += section
        self._write("".join(kept))

    def remove(self, key_ids: Collection[str]) -> bool:
        """Remove the profile if it holds one of `key_ids` (never a key of someone else); True if removed."""
        stored = self.stored_key_id()
        if stored is None or stored not in key_ids:
            return False
        kept = [line for name, block in _sections(self._read_lines()) if name != self.profile for line in block]
        while kept and not kept[-1].strip():  # the blank line `save` put before an appended section
            kept.pop()
        if self.dedicated and not any(line.strip() for line in kept):
            try:
                self.path.unlink()
            except OSError as error:
                raise CredentialsStoreError(
                    f"Cannot delete the key file {self.path} ({_reason(error)}): delete it by hand."
                ) from None
        else:
            self._write("".join(kept))
        return True

    def _write(self, text: str) -> None:
        """Atomically replace the file with `text`, mode 0600, creating its directory (0700) if needed."""
        target = self.path.resolve() if self.path.is_symlink() else self.path
        try:
            if not target.parent.exists():
                target.parent.mkdir(parents=True, mode=DIRECTORY_MODE)
            descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        except OSError as error:
            raise CredentialsStoreError(
                f"Cannot write the credentials file {self.path} ({_reason(error)}): fix the directory's "
                "permissions or choose another location with --key-file."
            ) from None
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, FILE_MODE)
            os.replace(temporary, target)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise CredentialsStoreError(
                f"Cannot write the credentials file {self.path} ({_reason(error)}): fix its permissions or "
                "choose another location with --key-file."
            ) from None

    # --- telling the user --------------------------------------------------------------------------------

    def describe(self) -> str:
        """Where the key lives, for messages."""
        return f"profile '{self.profile}' of {self.path}"

    def usage(self) -> str:
        """The environment that makes boto3 and the AWS CLI use the stored key."""
        if self.dedicated:
            return f"AWS_SHARED_CREDENTIALS_FILE={self.path.absolute()} AWS_PROFILE={self.profile}"
        return f"AWS_PROFILE={self.profile}"


def _trailing_blank_lines(block: list[str]) -> list[str]:
    """The blank and comment lines that end a section (they introduce the next one): kept on replacement."""
    trailing: list[str] = []
    for line in reversed(block[1:]):
        if line.strip() and not line.lstrip().startswith(("#", ";")):
            break
        trailing.insert(0, line)
    return trailing


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or type(error).__name__


def shared_credentials_store(profile: str) -> CredentialsFile:
    """The profile in the AWS shared credentials file."""
    return CredentialsFile(path=shared_credentials_path(), profile=profile)


def key_file_store(path: Path, profile: str) -> CredentialsFile:
    """A dedicated key file (`--key-file`)."""
    return CredentialsFile(path=path, profile=profile, dedicated=True)


def select_store(key_file: str | None, *, user_name: str, profile: str) -> CredentialsFile:
    """The store a run writes to: `--key-file PATH`, bare `--key-file` (""), or the shared credentials file."""
    if key_file is None:
        return shared_credentials_store(profile)
    return key_file_store(Path(key_file) if key_file else default_key_file_path(user_name), profile)


def stores_to_clean(chosen: CredentialsFile, *, user_name: str) -> list[CredentialsFile]:
    """Every place a key of this user may have been stored: the shared file, the default key file, `chosen`."""
    stores = [
        shared_credentials_store(chosen.profile),
        key_file_store(default_key_file_path(user_name), chosen.profile),
    ]
    if all(store.path.absolute() != chosen.path.absolute() for store in stores):
        stores.append(chosen)
    return stores
