"""The backend contract is written down once (backends/base.py), implemented fully by every
backend, and rendered into docs/design.md — these tests keep the three in step."""
import subprocess
import sys
from pathlib import Path

import pytest

from minitorch.backends import base
from minitorch.backends.cpu import CpuBackend

ROOT = Path(__file__).resolve().parents[1]


def test_primitive_list_is_nonempty_and_documented():
    names = base.primitive_names()
    assert {"binary", "unary", "reduce", "matmul", "index", "index_put_"} <= set(names)
    for n in names:
        assert getattr(base.Backend, n).__doc__, f"primitive {n} has no docstring"


@pytest.mark.parametrize("name", base.primitive_names())
def test_cpu_backend_implements(name):
    impl = getattr(CpuBackend, name)
    assert impl is not getattr(base.Backend, name), f"CpuBackend does not implement {name}"


def test_cpu_backend_covers_op_tables():
    be = CpuBackend()
    import numpy as np
    x = np.array([0.5, -1.5], np.float32)
    for op in base.UNARY_OPS:
        arr = x.astype(np.int64) if op == "bitwise_not" else x
        assert be.unary(op, arr).shape == (2,), op
    for op in base.BINARY_OPS:
        arr = x.astype(np.int64) if op.startswith("bitwise") else x
        out = be.binary(op, arr, arr)
        assert out.shape == (2,), op
        assert (out.dtype == np.bool_) == (op in base.COMPARISONS), op
        assert set(be.binary_table) >= set(base.BINARY_OPS)


def test_design_doc_primitive_table_in_sync():
    r = subprocess.run([sys.executable, str(ROOT / "docs" / "gen_primitives.py"), "--check"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, ("docs/design.md's primitive table is stale: run "
                               "`python docs/gen_primitives.py --write`\n" + r.stdout + r.stderr)
