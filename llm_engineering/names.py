"""The names of SageMaker resources: SageMaker's rule, and the names this tool derives from the endpoint's.

One rule and one message for every place a name comes from (a setting, `--endpoint-name`, `--component`),
checked before any request. Model and endpoint config names are the endpoint's name (shortened to fit)
plus a timestamp, so every deploy's are unique and sort by age; `NAME_PREFIX_LENGTH` follows from that.
"""

from __future__ import annotations

import re
from datetime import datetime

from llm_engineering.errors import ConfigurationError

SAGEMAKER_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
"""botocore's pattern for EndpointName, EndpointConfigName, ModelName and InferenceComponentName."""
SAGEMAKER_NAME_RULE = (
    "must be 1-63 letters, digits or hyphens, starting and ending with a letter or digit (SageMaker's naming rule)"
)
MAX_NAME_LENGTH = 63
_STAMP_FORMAT = "%Y%m%d-%H%M%S"
STAMP_LENGTH = len("20260101-000000") + 3
"""`resource_stamp()` is the date, the time and three digits of milliseconds."""
NAME_PREFIX_LENGTH = MAX_NAME_LENGTH - STAMP_LENGTH - 1
"""How much of the endpoint's name starts its models' and configs' names (`<prefix>-<stamp>`)."""
COMPONENT_SUFFIX = "-ic"


def sagemaker_name(value: str) -> str:
    """`value` if SageMaker accepts it as a resource name, else ValueError with the rule."""
    if not SAGEMAKER_NAME_PATTERN.match(value):
        raise ValueError(SAGEMAKER_NAME_RULE)
    return value


def check_sagemaker_name(value: str, source: str) -> str:
    """`sagemaker_name` for a value from `source` (a setting or an argument), as a one-line ConfigurationError."""
    try:
        return sagemaker_name(value)
    except ValueError as error:
        raise ConfigurationError(f"{source}={value!r} is invalid: {error}.") from None


def resource_stamp(now: datetime) -> str:
    """A sortable, name-safe timestamp that makes each deploy's model and config names unique."""
    return now.strftime(_STAMP_FORMAT) + f"{now.microsecond // 1000:03d}"


def stamped_name(endpoint_name: str, now: datetime) -> str:
    """The name of the model and endpoint config one deploy of `endpoint_name` creates."""
    return f"{endpoint_name[:NAME_PREFIX_LENGTH]}-{resource_stamp(now)}"


def default_component_name(endpoint_name: str) -> str:
    """`<endpoint>-ic`, shortened so that the whole stays a valid name."""
    return endpoint_name[: MAX_NAME_LENGTH - len(COMPONENT_SUFFIX)] + COMPONENT_SUFFIX
