"""GPU instance types this tool can host TGI on: accelerators, host resources and price, in one table.

GPU count and memory come from the SageMaker SDK's own table where it knows the type (it lags behind new
families, so ours fills the gaps); vCPUs, host memory, memory bandwidth and prices are not in the SDK.
Whether SageMaker hosting accepts a type at all is checked against botocore's service model, which ships
with boto3 and so stays current without network.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from llm_engineering.errors import ConfigurationError

PRICE_REGION = "us-east-1"
"""Prices below are on-demand real-time inference list prices there (2025-2026); other regions differ."""


@dataclass(frozen=True)
class GpuInstance:
    """One hosting instance type: what a TGI container can use on it and what it costs."""

    name: str
    gpu: str
    gpus: int
    gpu_memory_mib: int
    """Total over all GPUs."""
    vcpus: int
    memory_gib: int
    usd_per_hour: float
    gpu_bandwidth_gbps: int
    """Memory bandwidth of one GPU (GB/s): the ceiling of single-stream decoding speed."""

    @property
    def gpu_memory_gib_each(self) -> float:
        return self.gpu_memory_mib / self.gpus / 1024


def _family(gpu: str, mib_each: int, bandwidth: int, rows: list[tuple[str, int, int, int, float]]) -> list[GpuInstance]:
    return [
        GpuInstance(name, gpu, gpus, gpus * mib_each, vcpus, memory, price, bandwidth)
        for name, gpus, vcpus, memory, price in rows
    ]


# (name, GPUs, vCPUs, host memory GiB, USD/hour)
_TABLE: list[GpuInstance] = [
    *_family(
        "NVIDIA T4",
        16384,
        320,
        [
            ("ml.g4dn.xlarge", 1, 4, 16, 0.736),
            ("ml.g4dn.2xlarge", 1, 8, 32, 0.94),
            ("ml.g4dn.4xlarge", 1, 16, 64, 1.505),
            ("ml.g4dn.8xlarge", 1, 32, 128, 2.72),
            ("ml.g4dn.12xlarge", 4, 48, 192, 4.89),
            ("ml.g4dn.16xlarge", 1, 64, 256, 5.44),
        ],
    ),
    *_family(
        "NVIDIA A10G",
        24576,
        600,
        [
            ("ml.g5.xlarge", 1, 4, 16, 1.41),
            ("ml.g5.2xlarge", 1, 8, 32, 1.52),
            ("ml.g5.4xlarge", 1, 16, 64, 2.03),
            ("ml.g5.8xlarge", 1, 32, 128, 3.06),
            ("ml.g5.12xlarge", 4, 48, 192, 7.09),
            ("ml.g5.16xlarge", 1, 64, 256, 5.12),
            ("ml.g5.24xlarge", 4, 96, 384, 10.18),
            ("ml.g5.48xlarge", 8, 192, 768, 20.36),
        ],
    ),
    *_family(
        "NVIDIA L4",
        24576,
        300,
        [
            ("ml.g6.xlarge", 1, 4, 16, 1.01),
            ("ml.g6.2xlarge", 1, 8, 32, 1.22),
            ("ml.g6.4xlarge", 1, 16, 64, 1.66),
            ("ml.g6.8xlarge", 1, 32, 128, 2.52),
            ("ml.g6.12xlarge", 4, 48, 192, 5.75),
            ("ml.g6.16xlarge", 1, 64, 256, 4.25),
            ("ml.g6.24xlarge", 4, 96, 384, 8.32),
            ("ml.g6.48xlarge", 8, 192, 768, 16.6),
        ],
    ),
    *_family(
        "NVIDIA L40S",
        49152,
        864,
        [
            ("ml.g6e.xlarge", 1, 4, 32, 2.34),
            ("ml.g6e.2xlarge", 1, 8, 64, 2.64),
            ("ml.g6e.4xlarge", 1, 16, 128, 3.26),
            ("ml.g6e.8xlarge", 1, 32, 256, 4.5),
            ("ml.g6e.12xlarge", 4, 48, 384, 12.2),
            ("ml.g6e.16xlarge", 1, 64, 512, 6.96),
            ("ml.g6e.24xlarge", 4, 96, 768, 15.2),
            ("ml.g6e.48xlarge", 8, 192, 1536, 30.4),
        ],
    ),
    *_family("NVIDIA A100 40GB", 40960, 1555, [("ml.p4d.24xlarge", 8, 96, 1152, 37.69)]),
    *_family("NVIDIA A100 80GB", 81920, 2039, [("ml.p4de.24xlarge", 8, 96, 1152, 47.11)]),
    *_family("NVIDIA H100", 81920, 3350, [("ml.p5.48xlarge", 8, 192, 2048, 113.07)]),
]
GPU_INSTANCES: dict[str, GpuInstance] = {row.name: row for row in _TABLE}


@cache
def hosting_instance_types() -> frozenset[str]:
    """Every instance type SageMaker hosting accepts, from botocore's `ProductionVariantInstanceType`."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.shape_for("ProductionVariantInstanceType").enum)


def _sdk_gpu_info(region: str) -> dict[str, dict[str, int]]:
    """The SageMaker SDK's GPU table for a region (only imported on the deploy path: it is heavy)."""
    from sagemaker.core import instance_types_gpu_info

    return instance_types_gpu_info.retrieve(region)


def gpu_instance(instance_type: str, region: str | None = None) -> GpuInstance:
    """Look up a GPU type TGI can run on, refusing CPU-only, unknown or non-hosting types clearly."""
    if instance_type not in hosting_instance_types():
        raise ConfigurationError(
            f"GPU_INSTANCE_TYPE={instance_type!r} is not an instance type SageMaker hosting offers: "
            f"choose one of the GPU types {known_types_text()}."
        )
    row = GPU_INSTANCES.get(instance_type)
    if row is None:
        raise ConfigurationError(
            f"GPU_INSTANCE_TYPE={instance_type!r} has no GPU this tool knows (the TGI container needs one): "
            f"choose one of {known_types_text()}."
        )
    sdk = _sdk_gpu_info(region).get(instance_type) if region else None
    if sdk:
        row = replace(row, gpus=sdk["Count"], gpu_memory_mib=sdk["TotalGpuMemoryInMiB"])
    return row


def known_types_text() -> str:
    return ", ".join(GPU_INSTANCES)


# --- Local NVMe instance storage (KMS_KEY_ID) ---------------------------------------------------------------
# SageMaker API reference, CreateEndpointConfig `KmsKeyId` (botocore 1.44): "Certain Nitro-based instances include
# local storage ... encrypted using a hardware module on the instance ... the KmsKeyId parameter does not encrypt
# instance local storage" (until botocore 1.43.27, 2026-06-10, it also said the call fails for such types; no
# more). The SageMaker Developer Guide's "Instance storage volumes" page
# (sagemaker/latest/dg/host-instance-storage.html) lists the hosting types with local NVMe SSD storage; its table
# could not be read here, so the families below are EC2's instance-store families (the API reference names ml.p4d,
# ml.g4dn and ml.g5 as NVMe-type; g6, g6e, p4de and p5* carry NVMe instance store on EC2 too).
NVME_STORAGE_FAMILIES: frozenset[str] = frozenset({"g4dn", "g5", "g6", "g6e", "p4d", "p4de", "p5", "p5e", "p5en"})
"""Hosting families whose storage is local NVMe: encrypted by the instance's hardware, not by KMS_KEY_ID."""


def has_local_nvme(instance_type: str) -> bool:
    """Whether `instance_type` (ml.<family>.<size>) stores on local NVMe rather than an EBS volume."""
    parts = instance_type.split(".")
    return len(parts) == 3 and parts[1] in NVME_STORAGE_FAMILIES
