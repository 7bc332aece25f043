"""Run a benchmark script's child in another source tree (main's, say) and read its figures.

Imports nothing of gridsvc: the child imports gridsvc from the tree on its PYTHONPATH, so two
trees' code can be timed side by side in one run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_in_tree(script: str, tree: Path, arguments: list[str]) -> dict[str, float]:
    """Run ``script --child *arguments`` with ``tree`` first on the path; return its last line."""
    output = subprocess.run(
        [sys.executable, str(Path(script).resolve()), "--child", *arguments],
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])
