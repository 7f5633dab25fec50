"""The output folder of a benchmark: never losing an earlier result (the files' names: `core/layout.py`).

For each target x suite a run writes `<target>_<suite>.csv` (k6's raw CSV), `<target>_<suite>.json`
(the run metadata), the k6 and server logs and k6's HTML dashboard. Files are written in a staging
folder first; when a pair is done, the files an earlier run left for that same pair move to
`archive/<their run id>/` and the new ones take their place. So the top of the folder always holds
the latest attempt of each pair, and nothing is deleted or overwritten.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from core.layout import ARCHIVE_DIR, PairFiles


def publish(staged: PairFiles, out: Path) -> PairFiles:
    """Move a finished pair from staging to `out`, archiving what an earlier run left there."""
    final = PairFiles(out, staged.target, staged.suite)
    previous = final.existing()
    if previous:
        archive = _free_archive_folder(out, _run_id_of(final.metadata) or "unknown-" + uuid.uuid4().hex[:6], previous)
        for path in previous:
            shutil.move(path, archive / path.name)
    for path in staged.existing():
        shutil.move(path, final.folder / path.name)
    return final


def _free_archive_folder(out: Path, run_id: str, files: list[Path]) -> Path:
    """`archive/<run id>/`, or `<run id>.2`, `.3` ... when it already holds a file of that name."""
    for attempt in range(1, 1000):
        folder = out / ARCHIVE_DIR / (run_id if attempt == 1 else f"{run_id}.{attempt}")
        if not any((folder / f.name).exists() for f in files):
            folder.mkdir(parents=True, exist_ok=True)
            return folder
    raise RuntimeError(f"{out / ARCHIVE_DIR}: no free folder for run {run_id}")


def _run_id_of(metadata_path: Path) -> str | None:
    try:
        return str(json.loads(metadata_path.read_text())["run_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
