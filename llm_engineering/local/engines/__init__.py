"""Which container the emulator runs for a model: chosen by its image's repository, as SageMaker runs the image.

`huggingface-vllm` (or `vllm`) images get the emulated vLLM server, `huggingface-sglang` (or `sglang`) the
emulated SGLang server, anything else the emulated TGI (`local.container`). Each speaks its engine's API,
refuses the others' request shapes as the real server does, and writes its engine's start-up log.

A CUDA 13 image (tag `cu130`) needs a host whose NVIDIA driver runs it: the default SageMaker AMI's does
not, and such a container dies before writing a single log line (the DLCs' SageMaker guides: "the default
SageMaker host AMI has incompatible NVIDIA drivers for CUDA 13.0 images"). So does a CUDA 12 image: AWS's Deep
Learning Containers repository pins `al2-ami-sagemaker-inference-gpu-3-1` for its CUDA 12.x images and records a
CUDA 12.8 image failing on the default AMI with a `CannotStartContainerError` and no log. Which driver the
default AMI has is not documented: the emulator fails CUDA 12 images newer than 12.4 there (12.8 as recorded,
12.5-12.7 taken alike, not verified), and runs TGI's cu124 images, for which no failure is recorded.
A variant's InferenceAmiVersion is suitable when botocore documents a CUDA of the image's major version for it,
or when it is
`al2-ami-sagemaker-inference-gpu-3-1`, on which AWS's own vLLM DLC guide runs the CUDA 13 image through the
image's forward-compatibility libraries. This module reads botocore itself rather than sharing the tool's
code, so the emulator cannot inherit the tool's mistakes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

from llm_engineering.local import container_logs
from llm_engineering.local.container import ContainerReply, EmulatedTgi
from llm_engineering.local.engines.logs import sglang_lines, vllm_lines
from llm_engineering.local.engines.sglang import EmulatedSglang
from llm_engineering.local.engines.vllm import EmulatedVllm
from llm_engineering.local.faults import FailureKind
from llm_engineering.local.model_data import ModelData
from llm_engineering.local.protocol import service_model

EngineKind = Literal["tgi", "vllm", "sglang"]
REPOSITORIES: dict[str, EngineKind] = {
    "huggingface-vllm": "vllm",
    "vllm": "vllm",
    "huggingface-sglang": "sglang",
    "sglang": "sglang",
}
COMPATIBILITY_AMIS = frozenset({"al2-ami-sagemaker-inference-gpu-3-1"})
"""Hosts that run a CUDA 13 image through the image's own forward-compatibility layer (see above)."""
_CUDA = re.compile(r"(?:^|[-_.])cu(\d{2,3})(?=$|[-_.])")


class Container(Protocol):
    def invoke(self, body: bytes) -> ContainerReply: ...


def kind_of(image: str | None) -> EngineKind:
    """The engine an image runs, by its repository (TGI for any repository not vLLM's or SGLang's)."""
    repository = (image or "").split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
    return REPOSITORIES.get(repository, "tgi")


def model_id_of(image: str | None, environment: Mapping[str, str], fallback: str) -> str:
    """The model the container loads, from the variable its entrypoint reads."""
    kind = kind_of(image)
    if kind == "vllm":
        return environment.get("SM_VLLM_MODEL") or environment.get("HF_MODEL_ID") or fallback
    if kind == "sglang":
        return environment.get("SM_SGLANG_MODEL_PATH") or "/opt/ml/model"
    return environment.get("HF_MODEL_ID", fallback)


def container(image: str | None, environment: Mapping[str, str], fallback: str, **options: Any) -> Container:
    """The emulated container of `image`, configured from the model's environment."""
    kind = kind_of(image)
    if kind == "vllm":
        return EmulatedVllm.from_environment(environment, **options)
    if kind == "sglang":
        return EmulatedSglang.from_environment(environment, **options)
    return EmulatedTgi(model_id_of(image, environment, fallback), environment, **options)


LogLines = Callable[[str, Mapping[str, str], str, FailureKind | None], list[str]]
_LOGS: dict[EngineKind, LogLines] = {"tgi": container_logs.startup_lines, "vllm": vllm_lines, "sglang": sglang_lines}


def startup_lines(
    image: str | None,
    model_id: str,
    environment: Mapping[str, str],
    instance_type: str,
    failure: FailureKind | None,
    data: ModelData | None = None,
) -> list[str]:
    """What the container of `image` prints while starting, ending the way `failure` says; `data`: the weights
    SageMaker copied from S3 into /opt/ml/model (then nothing is downloaded)."""
    kind = kind_of(image)
    if kind == "tgi":
        return container_logs.startup_lines(model_id, environment, instance_type, failure, data)
    if data is not None and data.problem:
        # vLLM and SGLang load /opt/ml/model through transformers, which refuses a directory without a
        # config.json (transformers' wording; the engines' own lines around it were not verified).
        return [
            *_LOGS[kind](model_id, environment, instance_type, "timeout")[:3],
            f"OSError: {model_id} does not appear to have a file named config.json. Checkout "
            f"'https://huggingface.co/{model_id}/tree/None' for available files.",
        ]
    return _LOGS[kind](model_id, environment, instance_type, failure)


def image_cuda(image: str | None) -> tuple[int, int] | None:
    """The CUDA version in a DLC tag (`...-cu129-...` -> (12, 9)), None when the tag does not say."""
    tag = (image or "").split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2]
    match = _CUDA.search(tag)
    return (int(match.group(1)[:-1]), int(match.group(1)[-1])) if match else None


DEFAULT_AMI_RUNS = (12, 4)
"""The newest CUDA the emulator lets an image have on SageMaker's default AMI (see the module's docstring)."""


@functools.cache
def ami_cuda_majors() -> dict[str, int | None]:
    """InferenceAmiVersion -> the CUDA major version botocore's documentation gives it (None: no CUDA)."""
    shape = service_model("sagemaker").shape_for("ProductionVariant").members["InferenceAmiVersion"]
    found: dict[str, int | None] = dict.fromkeys(shape.enum)
    for name, body in re.findall(r"<dt>([\w.-]+)</dt>\s*<dd>(.*?)</dd>", shape.documentation, re.DOTALL):
        cuda = re.search(r"CUDA version:\s*(\d+)\.", body)
        if name in found and cuda:
            found[name] = int(cuda.group(1))
    return found


def fails_before_logging(image: str | None, ami: str | None) -> bool:
    """True when the host (its InferenceAmiVersion, None: SageMaker's default) cannot run the image's CUDA."""
    cuda = image_cuda(image)
    if cuda is None or cuda < (12, 0):
        return False
    if ami is None:
        return cuda > DEFAULT_AMI_RUNS
    if ami in COMPATIBILITY_AMIS:
        return False
    host = ami_cuda_majors().get(ami)
    return host is None or host < cuda[0]
