"""AWS managed IAM policies, parsed once per process instead of once per IAM backend.

With `MOTO_IAM_LOAD_MANAGED_POLICIES=true` moto parses about 1,600 policies whenever it creates an IAM
backend, and it creates one per partition on the first request after every reset (it looks up the
caller's account in all of them): about a second per reset. The emulator resets between tests, so it
parses the policies once and gives every new backend of the `aws` partition its own copies (same ids and
documents, independent attachment counts), which costs milliseconds. Other partitions (China, GovCloud,
ISO) get none: this tool deploys to commercial regions.
"""

from __future__ import annotations

import threading
from typing import Any

_installed = False
_lock = threading.Lock()


def install() -> None:
    """Patch moto's IAM backend to copy managed policies from a per-partition template (idempotent)."""
    global _installed
    # deferred: moto's IAM models are heavy, imported only when the emulator starts
    from moto.iam.models import IAMBackend
    from moto.settings import load_iam_aws_managed_policies

    with _lock:
        if _installed:
            return
        parse = IAMBackend._init_aws_policies
        templates: dict[str, list[Any]] = {}

        def init_aws_policies(backend: IAMBackend) -> list[Any]:
            if not load_iam_aws_managed_policies() or backend.region_name != "aws":
                return []
            with _lock:
                if backend.region_name not in templates:
                    templates[backend.region_name] = parse(backend)
                template = templates[backend.region_name]
            return [_copy(policy, backend.account_id) for policy in template]

        IAMBackend._init_aws_policies = init_aws_policies  # type: ignore[method-assign]
        _installed = True


def _copy(policy: Any, account_id: str) -> Any:
    fresh = _shallow(policy)
    fresh.account_id = account_id
    fresh.tags = dict(policy.tags)
    fresh.versions = [_shallow(version) for version in policy.versions]
    return fresh


def _shallow(thing: Any) -> Any:
    """`copy.copy` for plain attribute objects, several times faster."""
    fresh = object.__new__(type(thing))
    fresh.__dict__.update(thing.__dict__)
    return fresh
