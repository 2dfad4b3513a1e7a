"""The progress bars a cell draws (training steps, evaluations): off where cells run side by side,
whose bars would overwrite each other's line. (tqdm reads TQDM_DISABLE once, at import.)"""

from __future__ import annotations

from tqdm.auto import tqdm

_shown = True


def show_cell_bars(shown: bool) -> None:
    global _shown
    _shown = shown


def cell_bar(*, total: int, desc: str, unit: str) -> tqdm:
    """A transient bar (gone when done), or a silent one where cell bars are off or desc is empty."""
    return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=not (_shown and desc))
