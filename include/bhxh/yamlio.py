"""Reading the project's YAML data files: libyaml's safe loader when available (about 5x faster than the
pure-Python one), and a cache of what was parsed, keyed by the text's SHA-256.

Every Airflow task process (one per mapped unit under a real executor) loads the unit registry, the catalogue
and the plans: ~0.25 s of YAML parsing each time, for files that change a few times a year. The parsed data
is kept as a pickle in a cache folder only this user can write ($BHXH_CACHE_DIR, default var/cache/yaml);
reading it back takes a few milliseconds. Content-addressed, so an edited file is simply parsed again; a
folder that is not ours, is writable by others, or cannot be created means no cache, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bhxh import PROJECT_ROOT

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FORMAT = "1"  # bump when what load_yaml returns changes shape
ROOT = PROJECT_ROOT


def cache_dir() -> Path | None:
    """The cache folder if it exists (or can be made) and is this user's alone, else None."""
    folder = Path(os.environ.get("BHXH_CACHE_DIR") or ROOT / "var" / "cache" / "yaml")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o022:  # a pickle is code: only from a folder nobody else writes
        return None
    return folder


def load_yaml(text: str) -> Any:
    """Like yaml.safe_load: only plain data (no Python objects)."""
    folder = cache_dir()
    if folder is None:
        return _parse(text)
    key = hashlib.sha256(f"{_FORMAT}\0{text}".encode()).hexdigest()
    path = folder / f"{key}.pickle"
    with contextlib.suppress(OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
        return pickle.loads(path.read_bytes())  # noqa: S301 (our own folder, checked above)
    data = _parse(text)
    with contextlib.suppress(OSError, pickle.PicklingError):
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                pickle.dump(data, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)  # atomic: a reader sees the whole pickle or none
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return data


def _parse(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 (a safe loader)
