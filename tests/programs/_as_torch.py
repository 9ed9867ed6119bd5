"""Run a PyTorch program with minitorch in torch's place: ``python _as_torch.py prog.py``.

Every ``import torch`` / ``import torch.X.Y`` / ``from torch.X import Y`` resolves to
``minitorch`` / ``minitorch.X.Y``: a meta-path finder placed first in ``sys.meta_path``
aliases the module, so ``torch.nn is minitorch.nn`` and a missing submodule fails the way a
missing module fails (ModuleNotFoundError naming the torch path).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import runpy
import sys


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):  # already executed under its minitorch name
        pass


class TorchIsMinitorch(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        real = "minitorch" + fullname[len("torch"):]
        if importlib.util.find_spec(real) is None:
            return None  # -> ModuleNotFoundError: No module named 'torch.xyz'
        return importlib.machinery.ModuleSpec(fullname, _Alias(real))


def install() -> None:
    import importlib.util  # noqa: F401  (find_spec above)
    sys.meta_path.insert(0, TorchIsMinitorch())
    sys.modules.pop("torch", None)


def run_programs(paths, out_json) -> None:
    """Run several programs in this one process (one import of the library), each in a fresh
    ``__main__`` namespace; write {path: {"stdout": ..., "error": traceback or None}}."""
    import contextlib
    import io
    import json
    import traceback
    results = {}
    for path in paths:
        buf = io.StringIO()
        err = None
        argv, syspath = sys.argv, list(sys.path)
        sys.argv = [path]
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        try:
            with contextlib.redirect_stdout(buf):
                runpy.run_path(path, run_name="__main__")
        except BaseException:  # noqa: BLE001 - report everything, SystemExit included
            err = traceback.format_exc()
        finally:
            sys.argv, sys.path[:] = argv, syspath
            lib = sys.modules.get("torch")  # global state a program may change
            if lib is not None:
                lib.set_default_dtype(lib.float32)
                lib.set_grad_enabled(True)
        results[path] = {"stdout": buf.getvalue(), "error": err}
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    # python _as_torch.py prog.py                       run one program on minitorch
    # python _as_torch.py [--real] --json OUT a.py b.py  run several (--real: PyTorch itself)
    import importlib.util  # noqa: F401,F811
    args = sys.argv[1:]
    real = "--real" in args
    if real:
        args.remove("--real")
    else:
        install()
    if args and args[0] == "--json":
        run_programs(args[2:], args[1])
    else:
        prog = args[0]
        sys.argv = args
        sys.path.insert(0, os.path.dirname(os.path.abspath(prog)))
        runpy.run_path(prog, run_name="__main__")
