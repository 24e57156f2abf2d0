"""The Hugging Face TGI container image (Deep Learning Container) URI for a region.

The SageMaker SDK carries the table of published DLC images and resolves it offline. Importing it costs
seconds and hundreds of MB, so it is imported here, inside the functions, and only the deploy path calls them.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from llm_engineering.errors import ConfigurationError

FRAMEWORK = "huggingface-llm"
MINIMUM_VERSION = (2, 0)
"""TGI 2.0 introduced MAX_INPUT_TOKENS and the messages (chat) API that the test client relies on."""

_IMAGE_URI = re.compile(r"^[a-z0-9.-]+(:\d+)?/[a-z0-9._/-]+(:[\w.-]+|@sha256:[a-f0-9]{64})$")
_ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/(?P<repo>[a-z0-9._/-]+)[:@]"
)
TABLE_FILE = f"sagemaker/core/image_uri_config/{FRAMEWORK}.json"


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def known_versions() -> list[str]:
    """Full TGI versions the installed SDK knows, oldest first."""
    from sagemaker.core import image_uris

    config = image_uris.config_for_framework(FRAMEWORK)["inference"]
    return sorted(config["versions"], key=_version_tuple)


def tgi_image_uri(region: str, instance_type: str, version: str | None = None, override: str | None = None) -> str:
    """`override` as given, else the SDK's URI for `version` (default: the newest it knows) in `region`."""
    if override:
        if not _IMAGE_URI.match(override):
            raise ConfigurationError(
                f"TGI_IMAGE_URI={override!r} is not a container image URI: use <registry>/<repository>:<tag>."
            )
        return override
    if version is not None and _version_tuple(version)[:2] < MINIMUM_VERSION:
        raise ConfigurationError(
            f"TGI_IMAGE_VERSION={version!r} is older than 2.0, which this tool needs (MAX_INPUT_TOKENS, chat API): "
            f"choose a newer one, e.g. {known_versions()[-1]}, or leave it unset."
        )
    from sagemaker.core import image_uris

    try:
        return image_uris.retrieve(
            framework=FRAMEWORK,
            region=region,
            version=version,
            image_scope="inference",
            instance_type=instance_type,
        )
    except ValueError as error:
        text = str(error)
        if "region" in text.lower():
            raise ConfigurationError(
                f"AWS_REGION={region!r} has no published Hugging Face TGI image: choose another region "
                "or set TGI_IMAGE_URI to an image you host."
            ) from None
        recent = ", ".join(known_versions()[-5:])
        raise ConfigurationError(
            f"TGI_IMAGE_VERSION={version!r} is not a TGI version the installed SageMaker SDK knows: "
            f"use one of {recent} (or leave it unset for the newest)."
        ) from None


# --- Where the images live (for the execution role's ECR permissions) --------------------------------------


@cache
def _image_table() -> dict[str, Any]:
    """The SDK's table of TGI images, read as a file: importing the SDK for it would cost seconds."""
    path = Path(str(metadata.distribution("sagemaker-core").locate_file(TABLE_FILE)))
    return json.loads(path.read_text(encoding="utf-8"))["inference"]


def image_registries(region: str) -> list[str]:
    """The accounts whose ECR registries hold the TGI images of `region` (one per region, the same across
    versions), from the SDK's image table; empty for a region without images."""
    versions = _image_table()["versions"].values()
    return sorted({version["registries"][region] for version in versions if region in version.get("registries", {})})


def image_repository_arns(partition: str, region: str, override: str | None = None) -> list[str]:
    """ECR repositories the execution role may pull from: the TGI images of `region`, and the repository of
    TGI_IMAGE_URI when it is an ECR image (your own registry)."""
    arns = [f"arn:{partition}:ecr:{region}:{account}:repository/*" for account in image_registries(region)]
    found = _ECR_URI.match(override or "")
    if found:
        arns.append(f"arn:{partition}:ecr:{found['region']}:{found['account']}:repository/{found['repo']}")
    if not arns:
        raise ConfigurationError(
            f"AWS_REGION={region!r} has no published Hugging Face TGI image: choose another region, or set "
            "TGI_IMAGE_URI to an image in your own ECR registry."
        )
    return arns
