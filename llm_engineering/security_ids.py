"""The shapes of the ids the security settings take (EC2 subnets and security groups, KMS keys).

Checked when the settings are read, so a typo stops with one line before any AWS call; whether the ids
exist is the deploy's question (`hosting.security`).
"""

from __future__ import annotations

import re

# EC2 resource ids: the prefix, then 8 (older) or 17 hexadecimal digits.
_EC2_ID = {prefix: re.compile(rf"^{prefix}-(?:[0-9a-f]{{8}}|[0-9a-f]{{17}})$") for prefix in ("subnet", "sg")}
_KEY_ID = r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_ALIAS = r"alias/[A-Za-z0-9/_-]{1,250}"
KMS_KEY_PATTERN = re.compile(
    rf"^(?:{_KEY_ID}|{_ALIAS}|arn:aws[a-z-]*:kms:(?P<region>[a-z]{{2}}(?:-[a-z]+)+-\d):\d{{12}}:(?:key/{_KEY_ID}|{_ALIAS}))$"
)
"""KMS's four ways to name a key: key id (or multi-Region `mrk-` id), alias/name, key ARN, alias ARN."""


def check_ids(values: tuple[str, ...], prefix: str, most: int) -> tuple[str, ...]:
    """`values` when each looks like `<prefix>-<hex>` and there are at most `most` of them (no repeats)."""
    pattern = _EC2_ID[prefix]
    for value in values:
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not a {prefix} id (like {prefix}-0123456789abcdef0)")
    if len(values) > most:
        raise ValueError(f"{len(values)} ids given, SageMaker's VpcConfig takes at most {most}")
    if len(set(values)) != len(values):
        raise ValueError("lists an id twice")
    return values


def check_kms_key_id(value: str) -> str:
    """`value` when it names a KMS key in one of the four forms KMS accepts."""
    if not KMS_KEY_PATTERN.match(value):
        raise ValueError(
            "must be a KMS key id (1234abcd-12ab-34cd-56ef-1234567890ab), alias/name, or a key or alias ARN"
        )
    return value


def kms_key_region(value: str) -> str | None:
    """The region a key ARN names (None for an id or alias, which KMS resolves in the region in use)."""
    match = KMS_KEY_PATTERN.match(value)
    return match.group("region") if match else None
