"""What preflight found: one row per check (result, evidence, fix), as a table for people or JSON for tools.

Kept apart from the checks so that each check module can build its own rows without importing the
orchestration, and so the rendering is tested without any AWS or Hub answer.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from llm_engineering.aws import AWS_FAILURES, describe_failure
from llm_engineering.redaction import scrub

Status = Literal["ok", "warning", "blocked"]
STATUSES: tuple[Status, ...] = ("ok", "warning", "blocked")

__all__ = ["AWS_FAILURES", "STATUSES", "CheckResult", "Report", "describe_failure", "render_report", "report_json"]

WIDTH = 110
"""Evidence is wrapped to this width; fixes never are, so that commands stay copyable."""


@dataclass(frozen=True)
class CheckResult:
    """One check: its result, what it saw, and (unless ok) what to do about it."""

    check: str
    status: Status
    evidence: str
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    """Machine-readable facts behind the evidence (quota code, bytes, ...), for `--json`."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "evidence": self.evidence,
            "fix": self.fix,
            "details": self.details,
        }


@dataclass(frozen=True)
class Report:
    """Every check's result, in the order they ran."""

    results: tuple[CheckResult, ...]
    subject: str = ""
    """What was checked, in a few words: model, instances, region, endpoint."""

    @property
    def blocked(self) -> bool:
        """True when a deploy would fail (or cost money for nothing): deploying should stop."""
        return any(result.status == "blocked" for result in self.results)

    @property
    def status(self) -> Status:
        """The worst result."""
        return max((result.status for result in self.results), key=STATUSES.index, default="ok")

    def result(self, check: str) -> CheckResult:
        """The row of one check, by its name."""
        return next(result for result in self.results if result.check == check)

    def counts(self) -> dict[Status, int]:
        return {status: sum(result.status == status for result in self.results) for status in STATUSES}

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "status": self.status,
            "blocked": self.blocked,
            "checks": [result.as_dict() for result in self.results],
        }

    def redacted(self, secrets: Iterable[str]) -> Report:
        """The report with every occurrence of a secret replaced, wherever an answer might have echoed it."""
        hidden = [secret for secret in secrets if secret]
        if not hidden:
            return self
        return Report(tuple(_redact_result(result, hidden) for result in self.results), self.subject)


def _redact_result(result: CheckResult, secrets: list[str]) -> CheckResult:
    return replace(
        result,
        evidence=scrub(result.evidence, secrets),
        fix=scrub(result.fix, secrets),
        details=scrub(result.details, secrets),
    )


def render_report(report: Report) -> str:
    """The table: check, result, evidence (wrapped) and, below it, the fix (never wrapped)."""
    name_width = max((len(result.check) for result in report.results), default=5)
    status_width = max(len(status) for status in STATUSES)
    indent = " " * (2 + name_width + 2 + status_width + 2)
    lines = [
        f"Preflight: {report.subject}" if report.subject else "Preflight:",
        f"  {'CHECK'.ljust(name_width)}  {'RESULT'.ljust(status_width)}  EVIDENCE / FIX",
    ]
    for result in report.results:
        head = f"  {result.check.ljust(name_width)}  {result.status.ljust(status_width)}  "
        wrapped = textwrap.wrap(
            result.evidence,
            width=max(40, WIDTH - len(indent)),
            break_long_words=False,
            break_on_hyphens=False,
        ) or [""]
        lines.append(head + wrapped[0])
        lines += [indent + line for line in wrapped[1:]]
        if result.fix:
            lines.append(f"{indent}fix: {result.fix}")
    counts = report.counts()
    lines.append(
        f"Preflight result: {report.status} ({counts['blocked']} blocked, {counts['warning']} warning(s), "
        f"{counts['ok']} ok)."
    )
    return "\n".join(lines)


def report_json(report: Report) -> str:
    """The same results as JSON (`--json`)."""
    return json.dumps(report.as_dict(), indent=2)
