"""The PNG beside the JSON: latency percentiles and throughput against concurrency.

matplotlib is imported here only, inside the function, with its non-interactive backend: nothing else in the
tool pays for it, and no display is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def draw(document: dict[str, Any], path: Path) -> None:
    """Three panels (TTFT, ITL, throughput) over the concurrency sweep; emulated runs say so in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = document["levels"]
    concurrency = [level["concurrency"] for level in levels]
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.6), dpi=80)
    panels = ((axes[0], "ttft_ms", "Time to first token (ms)"), (axes[1], "itl_ms", "Inter-token latency (ms)"))
    for axis, key, title in panels:
        for q, style in (("p50", "o-"), ("p90", "s--"), ("p99", "^:")):
            axis.plot(concurrency, [level[key][q] for level in levels], style, label=q)
        axis.set_title(title)
        axis.legend()
    axes[2].plot(concurrency, [level["output_tokens_per_second"] for level in levels], "o-", color="tab:green")
    axes[2].set_title("Output tokens/s")
    for axis in axes:
        axis.set_xscale("log", base=2)
        axis.set_xticks(concurrency, [str(value) for value in concurrency])
        axis.set_xlabel("concurrent streams")
        axis.grid(alpha=0.3)
    title = f"{document['target']['endpoint']}: {document.get('label', '')}"
    if document.get("emulated"):
        title = f"EMULATED (local emulator timing model) - {title}"
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
