"""The host AMI of an endpoint's instances (`ProductionVariant.InferenceAmiVersion`), derived from the image.

Every image whose tag names its CUDA version gets the newest AMI of that CUDA major version: the driver must
match the image's major version, and within a major version CUDA's minor-version compatibility lets a newer
runtime run on the AMI's driver. AWS's Deep Learning Containers repository pins
`al2-ami-sagemaker-inference-gpu-3-1` (driver 550, CUDA 12.4) for its CUDA 12.x images (vLLM 0.14/0.17 and
SGLang 0.5.8 on cu129) and documents a CUDA 12.8 image failing on the default AMI with a zero-log
`CannotStartContainerError`; CUDA 13 images (`cu130`, every vLLM image since 0.21) need
`al2023-ami-sagemaker-inference-gpu-4-1` (driver 580). TGI's images are built on cu124: the pin is documented
for the CUDA 12.x DLCs in general and TGI's own release notes name no AMI (not verified here for TGI itself);
gpu-3-1's CUDA 12.4 is exactly the image's, so TGI follows the same rule. The AMIs and their CUDA versions are
read from botocore's service model (the enum and its documentation), so a newer botocore brings newer AMIs
without a change here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from llm_engineering.errors import ConfigurationError

SETTING = "INFERENCE_AMI_VERSION"
DEFAULT_AMI = "SageMaker's default"

_CUDA_TAG = re.compile(r"(?:^|[-_.])cu(\d{2,3})(?=$|[-_.])")
_ENTRY = re.compile(r"<dt>(?P<name>[\w.-]+)</dt>\s*<dd>(?P<body>.*?)</dd>", re.DOTALL)
_CUDA_DOC = re.compile(r"CUDA version:\s*(\d+)\.(\d+)")


@dataclass(frozen=True)
class HostAmi:
    """The AMI a deployment asks for (None: SageMaker's default) and why, for the plan."""

    version: str | None
    reason: str


def image_cuda(image_uri: str) -> tuple[int, int] | None:
    """The CUDA version in a DLC image tag (`...-cu130-...` -> (13, 0)), None when the tag does not say."""
    name = image_uri.split("@", 1)[0].rsplit("/", 1)[-1]
    match = _CUDA_TAG.search(name.partition(":")[2])
    if match is None:
        return None
    digits = match.group(1)
    return int(digits[:-1]), int(digits[-1])


@functools.cache
def ami_versions() -> dict[str, tuple[int, int] | None]:
    """botocore's InferenceAmiVersion values -> the CUDA version their documentation gives (None: no CUDA)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    values = model.shape_for("ProductionVariantInferenceAmiVersion").enum
    documentation = model.shape_for("ProductionVariant").members["InferenceAmiVersion"].documentation
    cuda: dict[str, tuple[int, int] | None] = dict.fromkeys(values)
    for entry in _ENTRY.finditer(documentation):
        found = _CUDA_DOC.search(entry.group("body"))
        if entry.group("name") in cuda and found:
            cuda[entry.group("name")] = (int(found.group(1)), int(found.group(2)))
    return cuda


def _label(cuda: tuple[int, int]) -> str:
    return f"CUDA {cuda[0]}.{cuda[1]}"


def host_ami(image_uri: str, explicit: str | None) -> HostAmi:
    """INFERENCE_AMI_VERSION as set (checked against botocore's enum), else the AMI the image's CUDA needs."""
    known = ami_versions()
    cuda = image_cuda(image_uri)
    if explicit is not None:
        if explicit not in known:
            raise ConfigurationError(
                f"{SETTING}={explicit!r} is not an InferenceAmiVersion SageMaker knows: use one of "
                f"{', '.join(known)}, or leave it unset to derive it from the image."
            )
        if known[explicit] is None:
            raise ConfigurationError(
                f"{SETTING}={explicit!r} is not an AMI for NVIDIA GPUs: use one of "
                f"{', '.join(name for name, version in known.items() if version)}, or leave it unset."
            )
        return HostAmi(explicit, f"as {SETTING} sets")
    if cuda is None:
        return HostAmi(None, "the image tag names no CUDA version")
    fitting = {name: version for name, version in known.items() if version and version[0] == cuda[0]}
    if not fitting and cuda[0] < min(version[0] for version in known.values() if version):
        return HostAmi(None, f"the image is built on {_label(cuda)}, older than every AMI botocore lists")
    if not fitting:
        raise ConfigurationError(
            f"The image is built on {_label(cuda)} and no InferenceAmiVersion botocore knows has a CUDA "
            f"{cuda[0]} driver: set {SETTING} (see the SageMaker docs), or upgrade botocore."
        )
    chosen = max(fitting, key=lambda name: fitting[name] or (0, 0))
    return HostAmi(chosen, f"the image is built on {_label(cuda)}; this AMI has {_label(known[chosen] or cuda)}")


def host_advice(image_uri: str, ami: str | None) -> str | None:
    """What to do when a container wrote no log at all: its CUDA needs a driver of its major version, which the
    host AMI (SageMaker's default, or one of another major version) may not have."""
    cuda = image_cuda(image_uri)
    if cuda is None:
        return None
    host = ami_versions().get(ami) if ami else None
    if host is not None and host[0] == cuda[0]:
        return None
    try:
        fitting = host_ami(image_uri, None).version
    except ConfigurationError:
        fitting = None
    newest = max(version[0] for version in ami_versions().values() if version)
    if fitting is None and cuda[0] <= newest:  # older than every AMI: SageMaker's default serves it
        return None
    has = f"has {_label(host)}" if host else f"may predate CUDA {cuda[0]} drivers"
    fix = f"set {SETTING}={fitting}, or unset it to let the tool derive it" if fitting else f"set {SETTING}"
    return (
        f"The image is built on {_label(cuda)} and the host AMI ({ami or DEFAULT_AMI}) {has}: such a "
        f"container fails before writing any log line. {fix[0].upper()}{fix[1:]}."
    )
