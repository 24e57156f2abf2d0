"""Secrets in and out: kept as `SecretStr` until the call that sends them, hidden everywhere they are shown.

Three directions, one home: `reveal` unwraps a request just before it is sent, `hide` replaces every
`SecretStr` for display (plans, dry runs), and `scrub` removes known secret strings from text that came
back from elsewhere (container logs, AWS messages, Hub answers) before anyone sees it, in every escaped form
it may come back in. A value that merely looks like a secret of any kind (a Hugging Face token, an AWS key or
session token, a bearer token, pasted into the wrong setting or argument) is caught by `looks_like_secret` and
`mask_secrets`, so no error line, plan or tag echoes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

from pydantic import SecretStr

REDACTED = "<redacted>"


def _varied(text: str) -> bool:
    """Whether a 40-character run is random like a secret key: random keys mix capitals, small letters and digits
    and switch between them and `/+` about 25 times in 40 characters (fewer than 17 times in about 1 key of 200;
    AWS's own example key, 17 times, has slashes); a name people chose (`MySageMakerExecutionRoleForProduction123`)
    switches 14 times, and a commit hash has no capital."""

    def kind(char: str) -> int:
        return 0 if char.isupper() else 1 if char.islower() else 2 if char.isdigit() else 3

    switches = sum(kind(one) != kind(two) for one, two in pairwise(text))
    mixed = {kind(char) for char in text} >= {0, 1, 2}
    return mixed and (switches >= 17 or (switches >= 12 and any(char in "/+" for char in text)))


SECRET_KINDS: dict[str, re.Pattern[str]] = {
    "a Hugging Face access token": re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{20,}"),
    "a SageMaker bearer token": re.compile(r"(?<![A-Za-z0-9-])sagemaker-api-key-[A-Za-z0-9+/=_-]{20,}"),
    "an AWS session token": re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{100,}={0,2}(?![A-Za-z0-9/+=])"),
    "an AWS secret access key": re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
}
"""Every secret the tool can meet, by its shape: Hugging Face tokens (`hf_` and, today, 34 letters; 20 or more
count), the OpenAI route's bearer tokens (`sagemaker-api-key-` and a base64 presigned URL), AWS session tokens
(hundreds of base64 characters), and secret access keys (40 base64 characters, told from a 40-digit commit hash
or a chosen name by how often they switch kind: `_varied`). Access key ids (AKIA...) are not secret, as AWS
says, and stay readable: key rotation names them."""


def _matches(text: str) -> list[tuple[str, re.Match[str]]]:
    found = []
    for kind, pattern in SECRET_KINDS.items():
        for match in pattern.finditer(text):
            if kind in ("an AWS secret access key", "an AWS session token") and not _varied(match.group()):
                continue
            found.append((kind, match))
    return found


def secret_kind(text: str) -> str | None:
    """What kind of secret `text` contains ("an AWS secret access key"), None when nothing looks like one."""
    found = _matches(text)
    return found[0][0] if found else None


def looks_like_secret(text: str) -> bool:
    """True when `text` contains something shaped like a secret of any kind the tool knows."""
    return secret_kind(text) is not None


def mask_secrets(text: str) -> str:
    """`text` with everything shaped like a secret replaced by `<redacted>`."""
    merged: list[list[int]] = []
    for start, end in sorted(match.span() for _, match in _matches(text)):
        if merged and start <= merged[-1][1]:  # one secret can match two shapes (a bearer token is base64 too)
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + REDACTED + text[end:]
    return text


def _escaped(secret: str) -> re.Pattern[str]:
    """`secret` as it may come back from elsewhere: each character as itself, percent-encoded (`%68`), escaped
    for JSON or Python (`\\u0068`, `\\x68`) or as an HTML entity (`&#104;`, `&#x68;`), in any mix."""
    forms = []
    for char in secret:
        code = ord(char)
        spelled = {f"%{code:02x}", f"%{code:02X}", f"\\x{code:02x}", f"\\u{code:04x}", f"&#{code};", f"&#x{code:x};"}
        alternatives = [re.escape(char), *sorted(re.escape(form) for form in spelled)]
        if char == " ":
            alternatives.append(re.escape("+"))
        forms.append("(?:" + "|".join(alternatives) + ")")
    return re.compile("".join(forms))


def reveal(value: Any) -> Any:
    """`value` with every nested `SecretStr` unwrapped: only for the request that needs the secret."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [reveal(item) for item in value]
    return value


def hide(value: Any) -> Any:
    """`value` with every nested `SecretStr` shown as `<redacted>`."""
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, dict):
        return {key: hide(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [hide(item) for item in value]
    return value


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """`value` (text, or nested dicts and lists of it) with every occurrence of a secret replaced."""
    hidden = [secret for secret in secrets if secret]
    if not hidden:
        return value
    if isinstance(value, str):
        for secret in hidden:
            value = _escaped(secret).sub(REDACTED, value.replace(secret, REDACTED))
        return value
    if isinstance(value, dict):
        return {key: scrub(item, hidden) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, hidden) for item in value]
    return value
