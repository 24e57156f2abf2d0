"""The one place that builds AWS sessions and clients.

Every client gets the same region, profile, retry policy and a user-agent suffix naming this tool, so
AWS-side logs can tell our calls apart. `AWS_ENDPOINT_URL` (the local emulator) is honoured by botocore
itself and needs nothing here.

Sessions are botocore's own, the layer boto3 wraps: the tool uses only low-level clients, and skipping
boto3's resource layer (and the s3transfer it imports) saves every command about 30 ms of start-up,
which the test client's budget needs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound
from botocore.parsers import ResponseParserError

from llm_engineering import TOOL_NAME, __version__
from llm_engineering.errors import ConfigurationError
from llm_engineering.refusals import error_message, is_not_found, shown_code

MAX_ATTEMPTS = 8
"""Attempts per call, the first included (standard retry mode: backoff with jitter on throttling and 5xx)."""

SESSION_OBSERVERS: list[Callable[[botocore.session.Session], None]] = []
"""Called with every session `connect()` opens, before any of its clients exists. Event handlers registered
on a botocore session reach all its clients, so this is where instrumentation (recording requests in
tests, counting them in benchmarks) hooks in without touching the tool's code paths."""


@dataclass
class Aws:
    """A botocore session with the tool's client configuration, and a cache of its clients."""

    session: botocore.session.Session
    region: str
    _clients: dict[tuple[str, float | None], Any] = field(default_factory=dict, repr=False)

    def client(self, service: str, *, read_timeout: float | None = None) -> Any:
        """A client for `service`; `read_timeout` bounds a single request (the runtime client needs it)."""
        key = (service, read_timeout)
        if key not in self._clients:
            config = Config(
                region_name=self.region,
                retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
                user_agent_extra=f"{TOOL_NAME}/{__version__}",
                connect_timeout=10,
                read_timeout=read_timeout if read_timeout is not None else 60,
            )
            self._clients[key] = self.session.create_client(service, config=config)
        return self._clients[key]


# --- Regions ----------------------------------------------------------------------------------------------


@cache
def _partitions() -> list[dict[str, Any]]:
    """botocore's partitions (aws, aws-cn, aws-us-gov, ...) with each one's region pattern; read in about 1 ms."""
    return botocore.loaders.create_loader().load_data("partitions")["partitions"]


def region_partition(region: str) -> str | None:
    """The partition whose region pattern `region` matches (`aws` for us-east-1), None when it matches none."""
    for partition in _partitions():
        if re.match(partition["regionRegex"], region):
            return partition["id"]
    return None


def arn_partition(arn: str) -> str:
    """The partition an ARN names (`aws`, `aws-cn`, `aws-us-gov`, ...): every ARN this tool builds from another
    one (a role's, the caller's) takes its partition from there, never a literal `aws`."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[1]:
        raise ValueError(f"{arn!r} is not an ARN")
    return parts[1]


def check_region(region: str, source: str) -> str:
    """`region` when it has the shape of an AWS region, else one line naming where it came from.

    botocore would otherwise raise InvalidRegionError from deep inside the first client (a traceback), or, for
    a well-formed but foreign value, build an endpoint URL out of it.
    """
    if region_partition(region) is None:
        raise ConfigurationError(
            f"{source}={region!r} is not an AWS region (such as us-east-1 or eu-west-1): "
            "fix it in .env, the environment or your AWS config."
        )
    return region


def _region_source(session: botocore.session.Session) -> str:
    """Where botocore found the region when AWS_REGION did not give one, for messages."""
    if os.environ.get("AWS_DEFAULT_REGION"):
        return "AWS_DEFAULT_REGION"
    return f"AWS profile {session.profile or 'default'}: region"


def connect(region: str | None = None, profile: str | None = None) -> Aws:
    """Open a session, failing with one actionable line when region or credentials are missing.

    Scripts pass AWS_REGION and AWS_PROFILE from their settings (None: botocore's own chain decides); the
    library below them only ever receives the `Aws` this returns, never the settings."""
    session = botocore.session.Session(profile=profile)
    try:
        session.get_scoped_config()  # reads the profile, so that an unknown one fails here and not at a call
    except ProfileNotFound:
        raise ConfigurationError(
            f"AWS_PROFILE={session.profile!r} is not a profile in your AWS config files: "
            "set AWS_PROFILE to an existing profile (see `aws configure list-profiles`) or unset it."
        ) from None
    if region:
        session.set_config_variable("region", check_region(region, "AWS_REGION"))
    region_name = session.get_config_variable("region")
    if not region_name:
        raise ConfigurationError(
            "No AWS region is configured: set AWS_REGION in .env or the environment (e.g. AWS_REGION=us-east-1)."
        )
    if not region:
        check_region(region_name, _region_source(session))
    try:
        credentials = session.get_credentials()
    except BotoCoreError as error:
        raise ConfigurationError(f"AWS credentials could not be loaded ({error}): check AWS_PROFILE.") from None
    if credentials is None:
        raise ConfigurationError(
            "No AWS credentials found: run `aws configure` (or `aws sso login`), set AWS_PROFILE, "
            "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
        )
    for observer in SESSION_OBSERVERS:
        observer(session)
    return Aws(session=session, region=region_name)


# --- Answers every caller reads the same way ---------------------------------------------------------------

AWS_FAILURES = (ClientError, BotoCoreError, ResponseParserError)
"""What an AWS call can raise: refused (throttling that outlived the retries included), unreachable, cut off
(EndpointConnectionError, ConnectionClosedError, ReadTimeoutError) or unparsable."""


def describe_failure(error: Exception) -> str:
    """`<Operation> refused: <Code>: <message>` for AWS refusals, the error's type and text otherwise."""
    if isinstance(error, ClientError):
        return f"{error.operation_name} refused: {shown_code(error)}: {error_message(error)}"
    first = str(error).strip().splitlines()
    return f"{type(error).__name__}: {first[0] if first else ''}".rstrip(": ")


def get_or_none(call: Callable[..., Any], **params: Any) -> Any | None:
    """`call(**params)`, or None when the resource does not exist (any other refusal propagates)."""
    try:
        return call(**params)
    except ClientError as error:
        if is_not_found(error):
            return None
        raise


def delete_if_exists(call: Callable[..., Any], **params: Any) -> bool:
    """Run a Delete call; False when there was nothing to delete."""
    return get_or_none(call, **params) is not None


def paginate(client: Any, operation: str, key: str, **params: Any) -> Iterator[Any]:
    """Every item under `key` of every page of a paginated listing (botocore's own paginators)."""
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(key, [])
