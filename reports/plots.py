"""Figures next to report.md: accuracy vs trainable parameters and vs peak memory, throughput."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FIGURES = {"accuracy_vs_params.png": "Score vs trainable parameters",
           "accuracy_vs_memory.png": "Score vs peak memory",
           "train_throughput.png": "Training throughput per method"}


def _scatter(groups: pd.DataFrame, x: str, xlabel: str, path: Path, *, log_x: bool) -> None:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.8), constrained_layout=True)
    markers = "osD^vP*Xh<>"
    for index, (task, per_task) in enumerate(groups.groupby("task", sort=False)):
        for color, row in zip(plt.cm.tab10.colors, per_task.itertuples(), strict=False):
            axes.errorbar(getattr(row, x), 100 * row.score_mean, yerr=100 * row.score_std,
                          fmt=markers[index % len(markers)], color=color, markersize=7, capsize=3,
                          label=f"{row.method_label} ({task})")
    for task, majority in groups.groupby("task", sort=False)["majority"].first().items():
        axes.axhline(100 * majority, color="grey", linestyle="--", linewidth=1)
        axes.annotate(f"majority class ({task})", (0.01, 100 * majority), xycoords=("axes fraction", "data"),
                      fontsize=7, color="grey", va="bottom")
    if log_x:
        axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel("score (task metric x100, mean ± std over seeds)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _bars(groups: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt

    table = groups.pivot_table(index="method_label", columns="task", values="train_sps", sort=False)
    figure, axes = plt.subplots(figsize=(7.5, 0.45 * len(table) + 1.5), constrained_layout=True)
    table.plot.barh(ax=axes, width=0.8)
    axes.set_xlabel("training samples/s")
    axes.set_ylabel("")
    axes.invert_yaxis()
    axes.grid(axis="x", alpha=0.3)
    axes.legend(title="task", fontsize=8)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_plots(groups: pd.DataFrame, out_dir: Path) -> list[str]:
    """Write the figures (headless backend) and return their file names."""
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
