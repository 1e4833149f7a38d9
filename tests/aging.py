"""Dating files back, for tests of what rolebar caches by a file's stamp."""

from __future__ import annotations

import os
import time
from pathlib import Path


def settle(*files: Path, ago: float) -> None:
    """Date the files' last change `ago` seconds back, past awsfiles' settling time (a file
    changed within two seconds is parsed again on every read)."""
    when = time.time() - ago
    for path in files:
        os.utime(path, (when, when))
