"""Figures next to report.md, each as PNG and SVG, titled: score vs trainable parameters and vs peak
memory (error bars: std over seeds), and training throughput per method (error bars: std over seeds)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from bench.core.store import write_atomically

FIGURES = {"accuracy_vs_params.png": "Score vs trainable parameters",
           "accuracy_vs_memory.png": "Score vs peak memory",
           "train_throughput.png": "Training throughput per method",
           "shot_curves.png": "Score vs training examples (shot curves)"}
VECTOR = ".svg"  # beside each PNG: scales in a paper without blur
LEGEND = {"fontsize": 6, "markerscale": 0.7, "handlelength": 1.2, "labelspacing": 0.3, "frameon": False}


def vector_name(name: str) -> str:
    return str(Path(name).with_suffix(VECTOR))


def save_figure(figure, path: Path) -> None:
    """PNG and SVG, each drawn in memory and written through a temporary file and a rename, so a full
    disk leaves the previous figure whole rather than a truncated one; the SVG keeps its text as text
    (editable, searchable), has no date and fixed ids, so an unchanged figure is an unchanged file."""
    import matplotlib.pyplot as plt

    png, svg = io.BytesIO(), io.BytesIO()
    figure.savefig(png, format="png", dpi=150)
    with plt.rc_context({"svg.hashsalt": "petbench", "svg.fonttype": "none"}):
        figure.savefig(svg, format="svg", metadata={"Date": None})
    plt.close(figure)
    write_atomically(path, png.getvalue())
    write_atomically(path.with_suffix(VECTOR), svg.getvalue())


def _scatter(groups: pd.DataFrame, x: str, xlabel: str, path: Path, *, log_x: bool) -> None:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.8), constrained_layout=True)
    markers = "osD^vP*Xh<>"
    for index, (task, per_task) in enumerate(groups.groupby("task", sort=False)):
        for color, row in zip(plt.cm.tab10.colors, per_task.itertuples(), strict=False):
            axes.errorbar(getattr(row, x), 100 * row.score_mean, yerr=100 * row.score_std,
                          fmt=markers[index % len(markers)], color=color, markersize=6, capsize=3,
                          label=f"{row.method_label} ({task})")
    for task, majority in groups.groupby("task", sort=False)["majority"].first().items():
        axes.axhline(100 * majority, color="grey", linestyle="--", linewidth=1)
        axes.annotate(f"majority class ({task})", (0.01, 100 * majority), xycoords=("axes fraction", "data"),
                      fontsize=7, color="grey", va="bottom")
    if log_x:
        axes.set_xscale("log")
    axes.set_title(FIGURES[path.name])
    axes.set_xlabel(xlabel)
    axes.set_ylabel("score (task metric x100, mean ± std over seeds)")
    axes.grid(alpha=0.3)
    entries = len(groups)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), ncols=2 if entries > 16 else 1, **LEGEND)
    save_figure(figure, path)


def _bars(groups: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt

    means = groups.pivot_table(index="method_label", columns="task", values="train_sps", sort=False)
    spread = groups.pivot_table(index="method_label", columns="task", values="train_sps_std", sort=False,
                                dropna=False).reindex_like(means).fillna(0.0)
    figure, axes = plt.subplots(figsize=(7.5, 0.45 * len(means) + 1.5), constrained_layout=True)
    means.plot.barh(ax=axes, width=0.8, xerr=spread, capsize=2, error_kw={"elinewidth": 0.8})
    axes.set_title(FIGURES[path.name])
    axes.set_xlabel("training samples/s (mean ± std over seeds)")
    axes.set_ylabel("")
    axes.invert_yaxis()
    axes.grid(axis="x", alpha=0.3)
    axes.legend(title="task", title_fontsize=7, **LEGEND)
    save_figure(figure, path)


def write_plots(groups: pd.DataFrame, out_dir: Path) -> list[str]:
    """Write the figures (headless backend) and return their PNG file names (each has an SVG twin)."""
    import matplotlib

    matplotlib.use("Agg")
    measured = groups.dropna(subset=["score_mean"])
    if measured.empty:
        return []
    _scatter(measured, "trainable", "trainable parameters (log scale)", out_dir / "accuracy_vs_params.png",
             log_x=True)
    _scatter(measured, "peak_mib", "peak memory (MiB)", out_dir / "accuracy_vs_memory.png", log_x=False)
    trained = measured.dropna(subset=["train_sps"])
    if trained.empty:
        return list(FIGURES)[:2]
    _bars(trained, out_dir / "train_throughput.png")
    return list(FIGURES)
