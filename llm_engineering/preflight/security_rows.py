"""The security rows of a preflight: VPC reach (`network`), the KMS key (`kms`) and MFA (`mfa`)."""

from __future__ import annotations

from llm_engineering.aws import Aws
from llm_engineering.hosting.observe import Observed
from llm_engineering.hosting.spec import DeploymentSpec
from llm_engineering.iam import Identity
from llm_engineering.preflight.kms import check_key
from llm_engineering.preflight.mfa import check_mfa
from llm_engineering.preflight.network import check_network
from llm_engineering.preflight.report import CheckResult


def security_rows(
    aws: Aws, spec: DeploymentSpec, observed: Observed | None, identity: Identity | None
) -> tuple[CheckResult, ...]:
    """The security rows of a preflight: VPC reach, KMS key, MFA (none when no security setting applies)."""
    network = observed.security.network if observed is not None else None
    rows = (
        check_network(aws, spec.security, network, hub_weights=spec.weights is None),
        check_key(spec.security, observed.security.key if observed is not None else None, aws.region),
        check_mfa(aws, spec.security, identity),
    )
    return tuple(row for row in rows if row is not None)
