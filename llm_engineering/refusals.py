"""What an AWS refusal says, read in one place: its code, its message, and what they mean.

A refusal is botocore's `ClientError`, whose `response["Error"]` holds AWS's `Code` and `Message`; every
module reads them through these functions instead of parsing the response itself, and decides "not found"
and "not allowed" from the tables here. On the floor of `aws` and `cli` (which both describe refusals), and
importing neither, so that the script plumbing the emulator shares stays free of the product's AWS code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError


def error_field(error: BaseException, name: str) -> Any:
    """One field of the `Error` part of an AWS refusal: `Code`, `Message`, or a service's own (a streamed
    model error's `ErrorCode`); None when the refusal lacks it, or when `error` is not a refusal at all
    (unreachable, cut off, unparsable: a `BotoCoreError`)."""
    if not isinstance(error, ClientError):
        return None
    return (error.response.get("Error") or {}).get(name)


def error_code(error: BaseException) -> str:
    """AWS's code for a refusal (`NoSuchEntity`, `ValidationException`; `404` for an S3 HEAD, which has no
    body); "" when there is none, so that comparing codes needs no type check first."""
    return str(error_field(error, "Code") or "")


def shown_code(error: BaseException) -> str:
    """`error_code` for a message: `Unknown` when AWS gave none."""
    return error_code(error) or "Unknown"


def error_message(error: BaseException) -> str:
    """AWS's words for a refusal; "" when there are none."""
    return str(error_field(error, "Message") or "")


def http_status(error: BaseException) -> int | None:
    """The HTTP status of a refusal (429 for throttling whatever the code), None when unknown."""
    if not isinstance(error, ClientError):
        return None
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


NOT_FOUND_CODES: Mapping[str, frozenset[str]] = {
    "iam": frozenset({"NoSuchEntity"}),
    "sagemaker": frozenset({"ResourceNotFound"}),  # most Describe calls: ValidationException "Could not find"
    "s3": frozenset({"NoSuchBucket", "NoSuchKey", "404", "NotFound"}),  # HEAD: the bare status, no body
    "kms": frozenset({"NotFoundException"}),
    "logs": frozenset({"ResourceNotFoundException"}),
    "scheduler": frozenset({"ResourceNotFoundException"}),
    "cloudwatch": frozenset({"ResourceNotFound", "ResourceNotFoundException"}),  # DeleteAlarms; ListTagsForResource
    "application-autoscaling": frozenset({"ObjectNotFoundException", "ResourceNotFoundException"}),
}
"""What each service this tool calls answers for a resource that does not exist (from botocore's service
models). The codes do not clash between services, so a refusal is read without knowing its service."""

_NOT_FOUND_ANY = frozenset().union(*NOT_FOUND_CODES.values())
_NOT_FOUND_BY_WORDING = frozenset({"ValidationException", "ValidationError"})
"""SageMaker's control plane answers `ValidationException` for what it cannot find, its runtime
`ValidationError`: for those two codes the wording decides."""
_NOT_FOUND_WORDS = ("could not find", "not found", "does not exist")

ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403", "Forbidden"})
"""What AWS answers for a call the credentials may not make (`403`, `Forbidden`: an S3 HEAD)."""


def is_not_found(error: BaseException) -> bool:
    """True when AWS says the resource does not exist (`NOT_FOUND_CODES`, or SageMaker's wording)."""
    code = error_code(error)
    if code in _NOT_FOUND_ANY:
        return True
    message = error_message(error).lower()
    return code in _NOT_FOUND_BY_WORDING and any(word in message for word in _NOT_FOUND_WORDS)


def is_access_denied(error: BaseException) -> bool:
    """True when AWS refused the call for want of a permission."""
    return error_code(error) in ACCESS_DENIED_CODES
