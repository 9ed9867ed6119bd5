"""The examples' optional packages: tqdm (progress bars) and matplotlib (plots).

Both come with the ``examples`` extra (``pip install -e ".[examples]"``; ``make`` installs
it).  ``require("tqdm", "matplotlib")`` imports them; when one is missing it prints one
line that says what to install and exits with status 1, instead of a traceback.
``pyplot()`` is matplotlib's pyplot on the Agg backend, which writes PNG files and needs
no display.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

INSTALL = 'pip install -e ".[examples]"'


def require(*names: str) -> list[ModuleType]:
    """Import the modules ``names`` and return them, or print what to install and exit(1)."""
    modules, missing = [], []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            missing.append(name)
    if missing:
        script = Path(sys.argv[0]).name or "this example"
        print(f"{script} needs {' and '.join(missing)}: {INSTALL}", file=sys.stderr)
        raise SystemExit(1)
    return modules


def pyplot() -> ModuleType:
    """``matplotlib.pyplot``, drawing with the Agg backend (PNG files, no window)."""
    (matplotlib,) = require("matplotlib")
    matplotlib.use("Agg")  # before pyplot is imported: no GUI toolkit is looked for
    import matplotlib.pyplot as plt
    return plt
