"""The KMS key row: what KMS_KEY_ID named, as observing found it (exists, enabled, in the region).

A key that is missing, disabled or of another region already stopped the deploy (and `make preflight`) with one
line before any create (`resources.kms.resolve_key`); this row shows the key that passed.
"""

from __future__ import annotations

from llm_engineering.hosting.network_encryption import Key, SecuritySpec
from llm_engineering.preflight.report import CheckResult

KMS_CHECK = "KMS key"


def check_key(spec: SecuritySpec, key: Key | None, region: str) -> CheckResult | None:
    """None without KMS_KEY_ID; ok with the key's ARN otherwise."""
    if spec.kms_key_id is None or key is None:
        return None
    return CheckResult(
        KMS_CHECK,
        "ok",
        f"KMS_KEY_ID={spec.kms_key_id} is {key.arn}, {key.state} in {region}",
        details={"arn": key.arn, "state": key.state},
    )
