"""What SageMaker refuses about a model's storage encryption, as the emulator refuses it.

CreateEndpointConfig fails when KmsKeyId is given and a production variant runs on an instance type with local
NVMe storage (SageMaker API reference, CreateEndpointConfig `KmsKeyId`). The families are the tool's own table
(`hosting.instances.NVME_STORAGE_FAMILIES`). AWS's exact message could not be verified: the wording below is
the emulator's.
"""

from __future__ import annotations

from typing import Any

from llm_engineering.hosting.instances import has_local_nvme
from llm_engineering.local.protocol import validation_exception


def refuse_kms_on_local_storage(params: dict[str, Any]) -> None:
    """Raise SageMaker's ValidationException for a KmsKeyId on a variant whose storage is local NVMe."""
    if not params.get("KmsKeyId"):
        return
    for variant in params.get("ProductionVariants", []):
        instance_type = variant.get("InstanceType", "")
        if has_local_nvme(instance_type):
            raise validation_exception(
                f"The KmsKeyId parameter is not supported for instance type {instance_type} of production variant "
                f"{variant.get('VariantName')}: its instance storage is local NVMe, encrypted by the instance."
            )
