"""Where a staged model lives: an S3 bucket and a key prefix ending in `/`, validated once.

SageMaker's `S3DataType: S3Prefix` loads every object under a prefix that "always ends with a forward
slash" (botocore's S3ModelDataSource documentation), so the prefix is kept in that form everywhere. The
default prefix names the model and the commit it was staged from, so two revisions never mix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCHEME = "s3://"
BUCKET_CHARACTERS = re.compile(r"^[a-z0-9.-]{3,63}$")
BUCKET_RULE = "3-63 lower-case letters, digits, '.', '-'"
_IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
# Key characters AWS lists as safe, which need no encoding anywhere (URLs, IAM ARNs, shells).
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9!_.*'()=+-]+(?:/[A-Za-z0-9!_.*'()=+-]+)*/$")
MAX_KEY_BYTES = 1024
MODELS_ROOT = "models/"
COMMIT_PATTERN = re.compile(r"^[0-9a-f]{40}$")


RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
"""What the S3 User Guide's "General purpose bucket naming rules" reserve: access-point aliases, Object Lambda,
Multi-Region Access Points, directory and table buckets, and punycode and AWS's own demo names."""


def bucket_problem(name: str) -> str | None:
    """What keeps `name` from being an S3 bucket name (AWS's general-purpose naming rules), None if nothing.

    The one bucket-name rule: settings (MODEL_S3_BUCKET, MODEL_S3_URI, EXECUTION_ROLE_S3_BUCKETS) and every
    S3 location read it here, so a name one of them accepts is never refused by another (or by S3)."""
    if not BUCKET_CHARACTERS.match(name):
        return f"({BUCKET_RULE})"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return f"({BUCKET_RULE}): it must start and end with a letter or digit"
    if ".." in name:
        return f"({BUCKET_RULE}): no two '.' in a row"
    if _IP_ADDRESS.match(name):
        return f"({BUCKET_RULE}): not shaped like an IP address"
    reserved = next((prefix for prefix in RESERVED_PREFIXES if name.startswith(prefix)), None)
    if reserved:
        return f"({BUCKET_RULE}): S3 reserves names starting {reserved}"
    reserved = next((suffix for suffix in RESERVED_SUFFIXES if name.endswith(suffix)), None)
    if reserved:
        return f"({BUCKET_RULE}): S3 reserves names ending {reserved}"
    return None


def check_bucket(name: str) -> str:
    """`name` if it is a valid S3 bucket name, else ValueError saying which part of the rule it breaks."""
    problem = bucket_problem(name)
    if problem:
        raise ValueError(f"{name!r} is not an S3 bucket name {problem}")
    return name


@dataclass(frozen=True)
class S3Location:
    """`s3://<bucket>/<prefix>`; the prefix is non-empty and ends with `/`."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        """Read `s3://bucket/prefix` (the trailing `/` is added); ValueError says what is wrong."""
        if not uri.startswith(SCHEME):
            raise ValueError("must start with s3://, as in s3://my-bucket/models/my-model/")
        bucket, _, prefix = uri.removeprefix(SCHEME).partition("/")
        check_bucket(bucket)
        if not prefix.strip("/"):
            raise ValueError(
                "needs a key prefix after the bucket, as in s3://my-bucket/models/my-model/ "
                "(or set MODEL_S3_BUCKET alone for the default prefix)"
            )
        prefix = prefix if prefix.endswith("/") else prefix + "/"
        if not PREFIX_PATTERN.match(prefix) or any(part in {".", ".."} for part in prefix.split("/")):
            raise ValueError(
                "the key prefix may hold only letters, digits and !_.*'()=+- between single '/' (no '.' or '..' parts)"
            )
        if len(prefix.encode()) > MAX_KEY_BYTES - 64:
            raise ValueError(f"the key prefix is longer than {MAX_KEY_BYTES - 64} bytes")
        return cls(bucket, prefix)

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}"

    def key(self, name: str) -> str:
        """The object key of the staged file `name`."""
        return self.prefix + name

    def bucket_arn(self, partition: str = "aws") -> str:
        return f"arn:{partition}:s3:::{self.bucket}"

    def objects_arn(self, partition: str = "aws") -> str:
        """Every object under the prefix, as an IAM resource."""
        return f"arn:{partition}:s3:::{self.bucket}/{self.prefix}*"

    def __str__(self) -> str:
        return self.uri


def model_root(model_id: str) -> str:
    """`models/<owner>--<name>/`: where every staged commit of `model_id` lives by default."""
    return f"{MODELS_ROOT}{model_id.replace('/', '--')}/"


def default_location(bucket: str, model_id: str, commit: str) -> S3Location:
    """`s3://<bucket>/models/<owner>--<name>/<commit>/`."""
    if not COMMIT_PATTERN.match(commit):
        raise ValueError(f"{commit!r} is not a 40-hex commit")
    return S3Location(bucket, f"{model_root(model_id)}{commit}/")
