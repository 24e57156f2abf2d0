"""Results for people: the sweep table of one run, and the table that puts several runs side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

COLUMNS = (
    ("conc", 4),
    ("req", 5),
    ("err", 4),
    ("TTFT p50/p90/p99 ms", 22),
    ("ITL p50/p90/p99 ms", 20),
    ("E2E p50/p99 ms", 16),
    ("req/s", 7),
    ("out tok/s", 9),
    ("USD/1M tok", 10),
)


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _three(spread: dict[str, Any], digits: int = 0) -> str:
    return "/".join(_number(spread.get(key), digits) for key in ("p50", "p90", "p99"))


def _row(cells: Sequence[str]) -> str:
    return "  ".join(cell.rjust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=True))


def level_cells(level: dict[str, Any]) -> list[str]:
    e2e = level["e2e_ms"]
    return [
        str(level["concurrency"]),
        str(level["requests"]),
        str(level["errors"]),
        _three(level["ttft_ms"]),
        _three(level["itl_ms"], 1),
        f"{_number(e2e.get('p50'))}/{_number(e2e.get('p99'))}",
        _number(level["requests_per_second"], 2),
        _number(level["output_tokens_per_second"], 1),
        _number(level["usd_per_million_output_tokens"], 2),
    ]


def table(document: dict[str, Any]) -> list[str]:
    """The sweep: a header, one row per level, then the single-stream figure, errors and the harness's cost."""
    lines = []
    if document.get("emulated"):
        scale = document["emulation"]["time_scale"]
        lines.append(document["note"] + (f" (time scale {scale:g}, scaled back)." if scale != 1 else "."))
    lines.append(_row([name for name, _ in COLUMNS]))
    lines.extend(_row(level_cells(level)) for level in document["levels"])
    single = document["single_stream"]
    if single["decode_tokens_per_second"] is not None:
        ratio = single["ratio_to_roofline"]
        against = (
            f" = {ratio:.0%} of the {single['roofline_tokens_per_second']:.1f} tokens/s roofline"
            if ratio is not None
            else f" (roofline {document['target']['roofline']})"
        )
        lines.append(f"Single stream decodes {single['decode_tokens_per_second']:.1f} tokens/s{against}.")
    for level in document["levels"]:
        if level["errors"]:
            kinds = ", ".join(f"{kind} x {count}" for kind, count in level["error_kinds"].items())
            lines.append(f"Concurrency {level['concurrency']}: {level['errors']} failed ({kinds}).")
    harness = document.get("harness") or {}
    if harness.get("cpu_us_per_token") is not None:
        lines.append(
            f"Harness at {harness['concurrency']} streams: {harness['cpu_us_per_token']:.0f} us CPU per token, "
            f"{harness['cpu_share_of_one_core']:.0%} of one core (real time, not scaled)."
        )
    return lines


# --- Several runs ------------------------------------------------------------------------------------------


def side_by_side(documents: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """Every level of every run, labelled by its file and configuration."""
    lines = []
    for name, document in documents:
        marker = " [EMULATED]" if document.get("emulated") else ""
        lines.append(f"{name}: {document.get('label', '?')}, {document['target'].get('model_id') or '?'}{marker}")
        lines.append("  " + _row([column for column, _ in COLUMNS]))
        lines.extend("  " + _row(level_cells(level)) for level in document["levels"])
    return lines
