"""What a hosting instance offers (accelerators, vCPUs, memory), for the checks SageMaker makes on placement.

A small table of the families LLM hosting uses, from the AWS instance type pages. Types outside it are
not checked: the emulator would rather accept a placement than refuse one AWS would allow.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceSpec:
    accelerators: int
    vcpus: int
    memory_mib: int
    accelerator_memory_gib: float = 0.0
    """Usable memory of one accelerator, as CUDA reports it."""


# size -> (accelerators, vCPUs, memory GiB) per family; accelerator memory as CUDA reports it.
_FAMILIES: dict[str, tuple[float, dict[str, tuple[int, int, int]]]] = {
    "g4dn": (14.57, {"xlarge": (1, 4, 16), "2xlarge": (1, 8, 32), "4xlarge": (1, 16, 64), "8xlarge": (1, 32, 128),
                     "12xlarge": (4, 48, 192), "16xlarge": (1, 64, 256)}),
    "g5": (22.09, {"xlarge": (1, 4, 16), "2xlarge": (1, 8, 32), "4xlarge": (1, 16, 64), "8xlarge": (1, 32, 128),
                   "12xlarge": (4, 48, 192), "16xlarge": (1, 64, 256), "24xlarge": (4, 96, 384),
                   "48xlarge": (8, 192, 768)}),
    "g6": (22.05, {"xlarge": (1, 4, 16), "2xlarge": (1, 8, 32), "4xlarge": (1, 16, 64), "8xlarge": (1, 32, 128),
                   "12xlarge": (4, 48, 192), "16xlarge": (1, 64, 256), "24xlarge": (4, 96, 384),
                   "48xlarge": (8, 192, 768)}),
    "g6e": (44.52, {"xlarge": (1, 4, 32), "2xlarge": (1, 8, 64), "4xlarge": (1, 16, 128), "8xlarge": (1, 32, 256),
                    "12xlarge": (4, 48, 384), "16xlarge": (1, 64, 512), "24xlarge": (4, 96, 768),
                    "48xlarge": (8, 192, 1536)}),
    "p4d": (39.39, {"24xlarge": (8, 96, 1152)}),
    "p4de": (79.15, {"24xlarge": (8, 96, 1152)}),
    "p5": (79.11, {"48xlarge": (8, 192, 2048)}),
    "inf2": (32.0, {"xlarge": (1, 4, 16), "8xlarge": (1, 32, 128), "24xlarge": (6, 96, 384),
                    "48xlarge": (12, 192, 768)}),
    "m5": (0.0, {"large": (0, 2, 8), "xlarge": (0, 4, 16), "2xlarge": (0, 8, 32), "4xlarge": (0, 16, 64),
                 "12xlarge": (0, 48, 192), "24xlarge": (0, 96, 384)}),
    "c5": (0.0, {"large": (0, 2, 4), "xlarge": (0, 4, 8), "2xlarge": (0, 8, 16), "4xlarge": (0, 16, 32),
                 "9xlarge": (0, 36, 72), "18xlarge": (0, 72, 144)}),
}  # fmt: skip


def spec(instance_type: str) -> InstanceSpec | None:
    """The capacity of `instance_type` (e.g. `ml.g5.2xlarge`), or None when the table does not know it."""
    parts = instance_type.split(".")
    if len(parts) != 3 or parts[0] != "ml" or parts[1] not in _FAMILIES:
        return None
    accelerator_memory, sizes = _FAMILIES[parts[1]]
    if parts[2] not in sizes:
        return None
    accelerators, vcpus, memory_gib = sizes[parts[2]]
    return InstanceSpec(accelerators, vcpus, memory_gib * 1024, accelerator_memory)
