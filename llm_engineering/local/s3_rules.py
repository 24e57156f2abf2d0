"""What S3 refuses that moto's S3 lets through: writes under a KMS key that cannot encrypt, and bucket names
S3 reserves.

- SSE-KMS. A PutObject, CreateMultipartUpload or CopyObject with `x-amz-server-side-encryption: aws:kms` asks
  KMS for a data key under `x-amz-server-side-encryption-aws-kms-key-id` (Amazon S3 User Guide, "Using
  server-side encryption with AWS KMS keys (SSE-KMS)"): a key that does not exist (or is another region's) fails
  the write with KMS's `NotFoundException`, a disabled key with `DisabledException`, and S3 passes them on as
  `KMS.NotFoundException` / `KMS.DisabledException` (HTTP 400). The messages below are the emulator's: S3's exact
  wording could not be verified here.
- Bucket names. The S3 User Guide's "General purpose bucket naming rules": names must not start with `xn--`,
  `sthree-` or `amzn-s3-demo-`, and must not end with `-s3alias`, `--ol-s3`, `.mrap`, `--x-s3` or `--table-s3`
  (besides the length, characters and IP-address rules moto already applies). S3 answers `InvalidBucketName`.
"""

from __future__ import annotations

from urllib.parse import unquote
from xml.sax.saxutils import escape

from moto.kms.models import kms_backends
from werkzeug.wrappers import Request, Response

RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
KMS_HEADER = "x-amz-server-side-encryption-aws-kms-key-id"


def _error(code: str, message: str, status: int = 400) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message><RequestId>emulated</RequestId>"
        "</Error>"
    )
    return Response(body, status=status, content_type="application/xml")


def _path_parts(request: Request) -> tuple[str, str]:
    """(bucket, key) of a path-style request (what clients send to a custom endpoint URL)."""
    bucket, _, key = unquote(request.path).lstrip("/").partition("/")
    return bucket, key


def bucket_name_problem(name: str) -> str | None:
    """Why S3 reserves `name` (None: it does not)."""
    for prefix in RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"bucket names must not start with {prefix}"
    for suffix in RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"bucket names must not end with {suffix}"
    return None


def _key_problem(key_id: str, account: str, region: str) -> Response | None:
    """KMS's refusal of `key_id` (an id, ARN, alias name or alias ARN) for encrypting in `region`."""
    parts = key_id.split(":")
    if key_id.startswith("arn:") and len(parts) > 4 and (parts[3] != region or parts[4] != account):
        return _error("KMS.NotFoundException", f"Invalid keyId '{key_id}'")
    backend = kms_backends[account][region]
    try:
        named = backend.any_id_to_key_id(key_id) if key_id.startswith(("alias/", "arn:")) else key_id
        key = backend.describe_key(named)
    except Exception:  # moto raises its own NotFoundException for an unknown id or alias
        return _error("KMS.NotFoundException", f"Invalid keyId '{key_id}'")
    if key.key_state != "Enabled":
        return _error("KMS.DisabledException", f"{key.arn} is {key.key_state.lower()}.")
    return None


def check(request: Request, account: str, region: str) -> Response | None:
    """S3's refusal of `request`, or None to let moto answer it."""
    bucket, key = _path_parts(request)
    if request.method == "PUT" and bucket and not key:  # CreateBucket
        problem = bucket_name_problem(bucket)
        if problem is not None and not request.args:  # PutBucketTagging and the like carry a subresource
            return _error("InvalidBucketName", f"The specified bucket is not valid ({problem}).")
        return None
    writes = request.method == "PUT" or (request.method == "POST" and "uploads" in request.args)
    if not (key and writes) or request.headers.get("x-amz-server-side-encryption") != "aws:kms":
        return None
    key_id = request.headers.get(KMS_HEADER)
    if not key_id:
        return None  # the account's AWS-managed key for S3, which always exists
    return _key_problem(key_id, account, region)
