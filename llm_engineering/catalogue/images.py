"""The serving engine's container image (a Hugging Face Deep Learning Container) URI for a region.

The SageMaker SDK carries the table of published DLC images and resolves it offline. Importing it costs
seconds and hundreds of MB, so it is imported here, inside the functions, and only the deploy path calls them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from llm_engineering.catalogue.engines import ENGINES, TGI, Engine, engine_of_image
from llm_engineering.errors import ConfigurationError

_IMAGE_URI = re.compile(r"^[a-z0-9.-]+(:\d+)?/[a-z0-9._/-]+(:[\w.-]+|@sha256:[a-f0-9]{64})$")
_ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/(?P<repo>[a-z0-9._/-]+)[:@]"
)
TABLE_FILE = "sagemaker/core/image_uri_config/{framework}.json"


@dataclass(frozen=True)
class Image:
    """The image a deployment runs, and the engine version it holds (None for an IMAGE_URI given as is)."""

    uri: str
    version: str | None = None


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _table(framework: str) -> dict:
    from sagemaker.core import image_uris

    return image_uris.config_for_framework(framework)["inference"]


def known_versions(framework: str = TGI.framework) -> list[str]:
    """Full versions of `framework` the installed SDK knows, oldest first."""
    return sorted(_table(framework)["versions"], key=_version_tuple)


def _check_override(row: Engine, override: str, setting: str, region: str) -> Image:
    if not _IMAGE_URI.match(override):
        raise ConfigurationError(
            f"{setting}={override!r} is not a container image URI: use <registry>/<repository>:<tag>."
        )
    ecr = _ECR_URI.match(override)
    if ecr is not None and ecr["region"] != region:
        # CreateModel's ContainerDefinition.Image (botocore's documentation): "the Docker image for inference
        # container in Amazon EC2 Container Registry must be in the same region as the model or endpoint"
        raise ConfigurationError(
            f"{setting}={override!r} is in the ECR registry of {ecr['region']}, but the endpoint is in {region}: "
            f"SageMaker pulls images from the endpoint's region only; copy the image to {region} (ECR "
            "replication) and point {setting} there. Nothing was created.".replace("{setting}", setting)
        )
    holder = engine_of_image(override)
    if holder is not None and holder is not row:
        raise ConfigurationError(
            f"{setting}={override!r} is a {holder.label} image but ENGINE={row.name}: set ENGINE={holder.name}, "
            f"or an image of {row.label}."
        )
    return Image(override)


def _check_version(row: Engine, version: str, setting: str) -> str:
    """The full version `version` names; one line listing the usable ones when the table lacks it.

    The SDK itself would hand out its only image for any version of a single-version table (SGLang), so the
    table's versions and aliases are checked here first.
    """
    table = _table(row.framework)
    usable = [known for known in known_versions(row.framework) if _version_tuple(known)[:2] >= row.minimum_version]
    if row.minimum_version and _version_tuple(version)[:2] < row.minimum_version:
        wanted = ".".join(str(part) for part in row.minimum_version)
        raise ConfigurationError(
            f"{setting}={version!r} is older than {wanted}, which this tool needs ({row.minimum_reason}): "
            f"choose a newer one, e.g. {usable[-1]}, or leave it unset."
        )
    full = table.get("version_aliases", {}).get(version, version)
    if full not in table["versions"]:
        raise ConfigurationError(
            f"{setting}={version!r} is not a {row.label} version the installed SageMaker SDK knows: use one of "
            f"{', '.join(usable)} (or leave it unset for the newest)."
        )
    return full


def engine_image(
    row: Engine,
    region: str,
    instance_type: str,
    version: str | None = None,
    override: str | None = None,
    *,
    version_setting: str = "ENGINE_VERSION",
    uri_setting: str = "IMAGE_URI",
) -> Image:
    """`override` as given, else the SDK's image of `row` at `version` (default: the newest) in `region`.

    The settings named in errors are the ones the user set (an alias keeps its own name).
    """
    if override:
        return _check_override(row, override, uri_setting, region)
    full = _check_version(row, version, version_setting) if version is not None else known_versions(row.framework)[-1]
    from sagemaker.core import image_uris

    try:
        uri = image_uris.retrieve(
            framework=row.framework, region=region, version=full, image_scope="inference", instance_type=instance_type
        )
    except ValueError as error:
        if "region" in str(error).lower():
            raise ConfigurationError(
                f"AWS_REGION={region!r} has no published Hugging Face {row.label} image: choose another region "
                f"or set {uri_setting} to an image you host."
            ) from None
        raise ConfigurationError(
            f"The installed SageMaker SDK has no {row.label} {full} image for {instance_type} ({error}): "
            f"set {uri_setting}, or another GPU_INSTANCE_TYPE."
        ) from None
    return Image(uri, full)


def tgi_image_uri(region: str, instance_type: str, version: str | None = None, override: str | None = None) -> str:
    """The TGI image URI, the settings named as their TGI aliases (TGI_IMAGE_VERSION, TGI_IMAGE_URI)."""
    image = engine_image(
        TGI, region, instance_type, version, override, version_setting="TGI_IMAGE_VERSION", uri_setting="TGI_IMAGE_URI"
    )
    return image.uri


# --- Where the images live (for the execution role's ECR permissions) --------------------------------------


@cache
def _image_table(framework: str) -> dict[str, Any]:
    """The SDK's table of one framework's images, read as a file: importing the SDK for it would cost seconds."""
    path = Path(str(metadata.distribution("sagemaker-core").locate_file(TABLE_FILE.format(framework=framework))))
    return json.loads(path.read_text(encoding="utf-8"))["inference"]


def image_registries(region: str) -> list[str]:
    """The accounts whose ECR registries hold the images of every engine in `region` (one per region, the
    same across versions and engines), from the SDK's image tables; empty for a region without images."""
    versions = [version for row in ENGINES.values() for version in _image_table(row.framework)["versions"].values()]
    return sorted({version["registries"][region] for version in versions if region in version.get("registries", {})})


def repository_arn(image_uri: str, partition: str) -> str | None:
    """The ECR repository an image is pulled from (`arn:aws:ecr:<region>:<account>:repository/<name>`), None
    for an image outside ECR."""
    found = _ECR_URI.match(image_uri)
    if found is None:
        return None
    return f"arn:{partition}:ecr:{found['region']}:{found['account']}:repository/{found['repo']}"


def image_repository_arns(partition: str, region: str, override: str | None = None) -> list[str]:
    """ECR repositories the execution role may pull from: the engines' images of `region`, and the repository
    of IMAGE_URI when it is an ECR image (your own registry)."""
    arns = [f"arn:{partition}:ecr:{region}:{account}:repository/*" for account in image_registries(region)]
    custom = repository_arn(override, partition) if override else None
    if custom:
        arns.append(custom)
    if not arns:
        raise ConfigurationError(
            f"AWS_REGION={region!r} has no published Hugging Face image: choose another region, or set "
            "IMAGE_URI to an image in your own ECR registry."
        )
    return arns
