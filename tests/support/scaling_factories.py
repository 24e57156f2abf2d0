"""Builders shared by the autoscaling tests."""

from __future__ import annotations

from llm_engineering.hosting.spec import DeploymentSpec
from llm_engineering.resources.waiting import Poller
from llm_engineering.settings import Settings

FAST = Poller(first=0, sleep=lambda _s: None)
"""A poller that never sleeps."""


def spec_of(**values: object) -> DeploymentSpec:
    """The deployment spec the settings `values` (over the defaults) describe."""
    return DeploymentSpec.from_settings(Settings(**values))
