"""Where the public sample corpus (../shared/fixtures: HL7 v2 and FHIR messages nobody here wrote) lives.

`DCR_FIXTURES_DIR` names it outright. Otherwise it sits next to this checkout (`../shared/fixtures`), or,
for a fresh clone made elsewhere (as CI does), next to the checkout it was cloned from.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def _origin_checkout() -> Path | None:
    try:
        url = subprocess.run(
            ["git", "-C", str(REPOSITORY), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return None
    if not url or "://" in url or url.startswith("git@"):
        return None
    return Path(url.removeprefix("file:")).resolve()


@cache
def fixtures_dir() -> Path:
    if os.environ.get("DCR_FIXTURES_DIR"):
        return Path(os.environ["DCR_FIXTURES_DIR"])
    candidates = [REPOSITORY.parent / "shared" / "fixtures"]
    origin = _origin_checkout()
    if origin is not None:
        candidates.append(origin.parent / "shared" / "fixtures")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    # Tests that need the corpus then fail, naming the first place looked.
    return candidates[0]
