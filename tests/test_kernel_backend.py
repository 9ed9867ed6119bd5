"""The kernel backend, primitive by primitive, against the cpu (NumPy) backend.

``KernelBackend(CudasimRuntime())`` runs the CUDA C kernels of kernels/*.cu on the CPU; every
primitive it implements is compared with ``CpuBackend`` on random inputs of every dtype and
on awkward layouts: non-contiguous (transposed, stepped slices), broadcast (stride 0),
flipped (negative strides), 0-d and empty arrays.  The result dtype must match exactly and
the values must match (exactly for integers and bools, to float rounding for floats).
"""
from __future__ import annotations

import mmap
import re
from pathlib import Path

import numpy as np
import pytest

import minitorch
from minitorch.backends import base
from minitorch.backends.cpu import CpuBackend

ROOT = Path(__file__).resolve().parents[1]
DTYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_]
DT_IDS = ["f32", "f64", "i32", "i64", "bool"]


@pytest.fixture(scope="module")
def kb():
    try:
        from minitorch.backends.runtime.cudasim import CudasimRuntime
        from minitorch.backends.kernel import KernelBackend
        return KernelBackend(CudasimRuntime())
    except (ImportError, RuntimeError) as e:
        pytest.skip(f"cudasim not available: {e}")


cpu = CpuBackend()


def _rand(shape, dt, rng, special=True):
    return np.asarray(_rand0(shape, dt, rng, special))


def _rand0(shape, dt, rng, special):
    dt = np.dtype(dt)
    if dt.kind == "f":
        a = rng.standard_normal(shape).astype(dt) * 3
        if special and a.size >= 6:
            flat = a.reshape(-1)
            flat[[1, 4]] = [np.nan, -np.inf]
            flat[5 % flat.size] = 0.5          # round half to even
            flat[2] = 2.5
        return a
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    return rng.integers(-7, 8, shape).astype(dt)


def _same(got, exp, rtol=2e-6):
    """got: a kernel-backend array, exp: the cpu result."""
    got = np.asarray(got)
    exp = np.asarray(exp)
    assert got.dtype == exp.dtype, (got.dtype, exp.dtype)
    assert got.shape == exp.shape, (got.shape, exp.shape)
    if exp.dtype.kind == "f":
        np.testing.assert_allclose(got, exp, rtol=rtol, atol=1e-6 if exp.dtype == np.float32
                                   else 1e-12, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, exp)


def _outcome(fn):
    try:
        return fn(), None
    except Exception as e:  # noqa: BLE001
        if not isinstance(e, (TypeError, ValueError, IndexError, OverflowError)):
            raise
        return None, type(e)


def _both(kb, fn, *arrays, rtol=2e-6, cast_ok=False):
    """Run fn(backend, *arrays) on cpu and on kb (arrays copied to the device); the results
    (or the exception types) must agree."""
    exp, eexc = _outcome(lambda: fn(cpu, *arrays))
    got, gexc = _outcome(lambda: fn(kb, *[kb.from_numpy(a) if isinstance(a, np.ndarray) else a
                                          for a in arrays]))
    if eexc is not None or gexc is not None:
        assert eexc is not None and gexc is not None and (
            issubclass(eexc, gexc) or issubclass(gexc, eexc)), (eexc, gexc)
        return
    if isinstance(exp, tuple):
        assert len(got) == len(exp)
        for g, e in zip(got, exp):
            _same(kb.to_numpy(g), e, rtol)
        return
    got = kb.to_numpy(got)
    if cast_ok and np.asarray(exp).dtype != got.dtype:
        exp = np.asarray(exp).astype(got.dtype)
        rtol = max(rtol, 1e-3)   # NumPy's float16
    _same(got, exp, rtol)


# layouts: each turns a base array into a view through backend primitives (same on both)
LAYOUTS = {
    "contig": ((3, 4), lambda be, a: a),
    "transposed": ((4, 3), lambda be, a: be.permute(a, (1, 0))),
    "stepped": ((3, 9), lambda be, a: be.slice(a, (slice(None), slice(1, None, 2)))),
    "broadcast": ((1, 4), lambda be, a: be.expand(a, (3, 4))),
    "flipped": ((3, 4), lambda be, a: be.slice(a, (slice(None), slice(None)))[::-1]),
    "0d": ((), lambda be, a: a),
    "empty": ((0, 4), lambda be, a: a),
    "long": ((2, 3000), lambda be, a: a),
    "misaligned": ((41,), lambda be, a: be.slice(a, (slice(1, None),))),  # contiguous, offset
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dt", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("op", list(base.UNARY_OPS))
def test_unary(kb, op, dt, layout):
    shape, view = LAYOUTS[layout]
    a = _rand(shape, dt, np.random.default_rng(0))
    # NumPy answers float16 for exp(bool) & co.; the kernel backend has no float16: float32
    _both(kb, lambda be, x: be.unary(op, view(be, x)), a, rtol=1e-5,
          cast_ok=np.dtype(dt).kind == "b")


BINARY_SHAPES = {
    "same": ((3, 4), (3, 4), None),
    "row": ((3, 4), (4,), None),
    "outer": ((3, 1), (1, 4), None),
    "transposed": ((4, 3), (3, 4), "ta"),
    "stepped": ((3, 8), (3, 4), "sa"),
    "0d": ((), (), None),
    "0d_with_array": ((), (2, 3), None),
    "empty": ((0, 3), (3,), None),
    "long": ((5000,), (5000,), None),
    "misaligned": ((41,), (40,), "off"),
}


def _binview(kind):
    def f(be, a):
        if kind == "ta":
            return be.permute(a, (1, 0))
        if kind == "sa":
            return be.slice(a, (slice(None), slice(None, None, 2)))
        if kind == "off":
            return be.slice(a, (slice(1, None),))
        return a
    return f


# NumPy computes these for bools in int8, a dtype minitorch does not have: refused here
_BOOL_INT8 = {"pow", "floor_divide", "remainder", "fmod"}


def _bool_int8(kb, op, dt) -> bool:
    if op in _BOOL_INT8 and np.dtype(dt).kind == "b":
        x = kb.from_numpy(np.ones(3, bool))
        with pytest.raises(TypeError):
            kb.binary(op, x, x)
        return True
    return False


def _operand(shape, dt, rng, op):
    a = _rand(shape, dt, rng)
    if op in ("floor_divide", "remainder", "fmod", "pow") and np.dtype(dt).kind in "iu":
        a = np.where(a == 0, 3, a).astype(dt)   # integer x // 0 raises in the Tensor layer
        if op == "pow":
            a = np.abs(a).astype(dt) % 5
    return np.asarray(a)


@pytest.mark.parametrize("shapes", list(BINARY_SHAPES))
@pytest.mark.parametrize("dt", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("op", list(base.BINARY_OPS))
def test_binary(kb, op, dt, shapes):
    if _bool_int8(kb, op, dt):
        return
    if op == "div" and np.dtype(dt).kind != "f":
        # the contract's div is for floats: the Tensor layer casts integers first (NumPy
        # would silently promote to float64; the kernel backend refuses)
        x = kb.from_numpy(np.ones(3, dt))
        with pytest.raises(TypeError, match="div"):
            kb.binary(op, x, x)
        return
    sa, sb, kind = BINARY_SHAPES[shapes]
    rng = np.random.default_rng(1)
    a = _operand(sa, dt, rng, op)
    b = _operand(sb, dt, rng, op)
    va = _binview(kind)
    _both(kb, lambda be, x, y: be.binary(op, va(be, x), y), a, b, rtol=1e-5)
    _both(kb, lambda be, x, y: be.binary(op, y, va(be, x)), a, b, rtol=1e-5)


SCALARS = [2, -3, 2.5, True, np.float32(1.5), np.float64(-0.5), np.int64(3), np.int32(2)]


@pytest.mark.parametrize("s", SCALARS, ids=[f"{type(s).__name__}({s})" for s in SCALARS])
@pytest.mark.parametrize("dt", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("op", list(base.BINARY_OPS))
def test_binary_scalar(kb, op, dt, s):
    if _bool_int8(kb, op, dt):
        return
    dt = np.dtype(dt)
    if op == "div" and dt.kind != "f":
        pytest.skip("div is for floats (test_binary checks the refusal)")
    if isinstance(s, (float, np.floating)) and dt.kind != "f":
        # outside the contract: the Tensor layer promotes int/bool arrays to float first
        with pytest.raises(TypeError, match="promote"):
            kb.binary(op, kb.from_numpy(np.ones(3, dt)), s)
        return
    if np.result_type(dt, s) != dt:
        pytest.skip(f"outside the contract: {dt} op {type(s).__name__} promotes (the Tensor "
                    f"layer casts first)")
    rng = np.random.default_rng(2)
    a = _operand((3, 5), dt, rng, op)
    _both(kb, lambda be, x: be.binary(op, x, s), a, rtol=1e-5)
    _both(kb, lambda be, x: be.binary(op, s, x), a, rtol=1e-5)
    _both(kb, lambda be, x: be.binary(op, be.permute(x, (1, 0)), s), a, rtol=1e-5)  # strided
    _both(kb, lambda be, x: be.binary_table[op](x, s), a, rtol=1e-5)


def test_binary_scalar_overflow_and_errors(kb):
    a = kb.from_numpy(np.arange(3, dtype=np.int32))
    with pytest.raises(OverflowError):
        kb.binary("add", a, 2 ** 40)
    with pytest.raises(ValueError):
        kb.binary("add", kb.from_numpy(np.ones((3, 2))), kb.from_numpy(np.ones((3,))))
    with pytest.raises(TypeError):
        kb.binary_table["sub"](kb.from_numpy(np.ones(2, bool)), kb.from_numpy(np.ones(2, bool)))


def test_broadcast_views_are_read_only(kb):
    """Writing a stride-0 view would let several threads write one element: refused, in
    NumPy's words (the Tensor layer turns them into PyTorch's)."""
    for be in (cpu, kb):
        x = be.expand(be.from_numpy(np.ones((1, 4), np.float32)), (3, 4))
        with pytest.raises(ValueError, match="read-only"):
            be.binary("add", x, np.float32(1), out=x)
        with pytest.raises(ValueError, match="read-only"):
            be.copy_(x, 2.0)
        with pytest.raises(ValueError, match="read-only"):
            be.index_put_(x, (be.from_numpy(np.array([0, 1])),), np.float32(1), False)


@pytest.mark.parametrize("case", ["inplace", "inplace_broadcast", "strided_out", "alias_t",
                                  "scalar_inplace"])
def test_binary_out(kb, case):
    rng = np.random.default_rng(3)
    a0 = rng.standard_normal((4, 4)).astype(np.float32)
    b0 = rng.standard_normal((4,)).astype(np.float32)

    def run(be):
        a = be.from_numpy(a0)
        b = be.from_numpy(b0)
        if case == "inplace":
            be.binary("mul", a, be.from_numpy(a0 + 1), out=a)
        elif case == "inplace_broadcast":
            be.binary("add", a, b, out=a)
        elif case == "strided_out":
            be.binary("sub", be.permute(a, (1, 0)), b, out=be.permute(a, (1, 0)))
        elif case == "alias_t":  # a += a.T: the output overlaps the input differently
            be.binary("add", a, be.permute(a, (1, 0)), out=a)
        else:
            be.binary("mul", a, np.float32(3), out=a)
        return a
    _same(kb.to_numpy(run(kb)), run(cpu))


WHERE_CASES = {
    "same": ((3, 4), (3, 4), (3, 4)),
    "broadcast": ((3, 4), (4,), (3, 1)),
    "scalar_a": ((3, 4), None, (3, 4)),
    "scalar_b": ((3, 4), (4,), None),
    "both_scalar": ((2, 3), None, None),
    "0d": ((), (), ()),
    "empty": ((0, 2), (0, 2), (2,)),
}


@pytest.mark.parametrize("case", list(WHERE_CASES))
@pytest.mark.parametrize("dt", DTYPES, ids=DT_IDS)
def test_where(kb, dt, case):
    sc, sa, sb = WHERE_CASES[case]
    rng = np.random.default_rng(4)
    c = np.asarray(rng.random(sc) < 0.5)
    a = _rand(sa, dt, rng) if sa is not None else np.dtype(dt).type(1)
    b = _rand(sb, dt, rng) if sb is not None else np.dtype(dt).type(0)
    _both(kb, lambda be, c, a, b: be.where(c, a, b), c, a, b)
    if sa is not None:  # the same condition stored column-major (a non-contiguous view)
        _both(kb, lambda be, c, a, b: be.where(_fortran(be, c), a, b), c, a, b)


def _fortran(be, x):
    rev = tuple(reversed(range(x.ndim)))
    return be.permute(be.contiguous(be.permute(x, rev)), rev)


REDUCE_CASES = {
    "all_axes": ((3, 4, 5), (0, 1, 2), None),
    "last": ((3, 4, 5), (2,), None),
    "first": ((6, 50), (0,), None),
    "middle": ((3, 4, 5), (1,), None),
    "outer_two": ((3, 4, 5), (0, 2), None),
    "neg_axis": ((3, 4), (-1,), None),
    "transposed_last": ((5, 40), (1,), "t"),
    "stepped": ((4, 10), (1,), "s"),
    "0d": ((), (), None),
    "no_axes": ((3, 2), (), None),
    "empty_kept": ((0, 3), (1,), None),
    "empty_reduced": ((3, 0), (1,), None),
    "long_row": ((2, 10000), (1,), None),
    "long_col": ((10000, 3), (0,), None),
    "tiny_rows": ((300, 3), (1,), None),
}


def _rview(kind):
    def f(be, x):
        if kind == "t":
            return be.permute(x, (1, 0))
        if kind == "s":
            return be.slice(x, (slice(None), slice(None, None, 2)))
        return x
    return f


@pytest.mark.parametrize("keepdim", [False, True], ids=["", "keep"])
@pytest.mark.parametrize("case", list(REDUCE_CASES))
@pytest.mark.parametrize("dt", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("op", base.REDUCE_OPS)
def test_reduce(kb, op, dt, case, keepdim):
    shape, axes, kind = REDUCE_CASES[case]
    if kind == "t":
        shape = tuple(reversed(shape))
    rng = np.random.default_rng(5)
    x = _rand(shape, dt, rng, special=op in ("max", "min", "all", "any"))
    if op == "prod" and np.dtype(dt).kind == "f":
        x = np.asarray((np.sign(x) * (0.9 + 0.2 * rng.random(shape))).astype(dt))
    v = _rview(kind)
    _both(kb, lambda be, x: be.reduce(op, v(be, x), axes, keepdim), x, rtol=2e-5)


@pytest.mark.parametrize("op", base.REDUCE_OPS)
def test_reduce_two_pass(kb, op, monkeypatch):
    """Force the split (partials + second launch) on small inputs."""
    monkeypatch.setattr(kb, "_split_min_rows", 64, raising=False)
    monkeypatch.setattr(kb, "_split_min_cols", 16, raising=False)
    monkeypatch.setattr(kb, "_par_warps", 64, raising=False)
    monkeypatch.setattr(kb, "_par_blocks", 16, raising=False)
    monkeypatch.setattr(kb, "_par_row_blocks", 16, raising=False)
    rng = np.random.default_rng(6)
    for dt in DTYPES:
        x = _rand((3, 3000), dt, rng, special=False)
        if op == "prod" and np.dtype(dt).kind == "f":
            x = (np.sign(x) * (0.99 + 0.02 * rng.random(x.shape))).astype(dt)
        for axes in ((1,), (0, 1), (0,)):
            _both(kb, lambda be, x: be.reduce(op, x, axes, False), x, rtol=1e-4)
        _both(kb, lambda be, x: be.reduce(op, be.permute(x, (1, 0)), (0,), False), x, rtol=1e-4)
        # few contiguous columns: reduce_cols split over blocks
        _both(kb, lambda be, x: be.reduce(op, be.contiguous(be.permute(x, (1, 0))), (0,),
                                          False), x, rtol=1e-4)


def test_reduce_nan_propagates(kb):
    x = np.array([[1.0, np.nan, 3.0], [np.nan, -np.inf, 0.0], [1.0, 2.0, 3.0]], np.float32)
    for op in ("max", "min"):
        for axes in ((0,), (1,), (0, 1)):
            _both(kb, lambda be, x: be.reduce(op, x, axes, False), x)
    with pytest.raises(ValueError, match="zero-size array"):
        kb.reduce("max", kb.from_numpy(np.ones((0, 2))), (0,), False)


ARG_CASES = {"none": ((3, 4, 5), None), "0": ((3, 4, 5), 0), "1": ((3, 4, 5), 1),
             "-1": ((3, 4, 5), -1), "long": ((2, 9000), 1), "0d": ((), None),
             "empty_kept": ((0, 4), 1)}


@pytest.mark.parametrize("keepdim", [False, True], ids=["", "keep"])
@pytest.mark.parametrize("case", list(ARG_CASES))
@pytest.mark.parametrize("dt", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("op", base.ARGREDUCE_OPS)
def test_argreduce(kb, op, dt, case, keepdim):
    shape, axis = ARG_CASES[case]
    rng = np.random.default_rng(7)
    x = _rand(shape, dt, rng, special=True)   # ints in -7..7: many ties; floats with a NaN
    _both(kb, lambda be, x: be.argreduce(op, x, axis, keepdim), x)
    if x.ndim == 3:
        _both(kb, lambda be, x: be.argreduce(op, be.permute(x, (2, 0, 1)), axis, keepdim), x)


def test_argreduce_two_pass_and_errors(kb, monkeypatch):
    monkeypatch.setattr(kb, "_split_min_rows", 64, raising=False)
    monkeypatch.setattr(kb, "_par_warps", 64, raising=False)
    rng = np.random.default_rng(8)
    for dt in DTYPES:
        x = _rand((2, 3000), dt, rng, special=False)
        for op in base.ARGREDUCE_OPS:
            _both(kb, lambda be, x: be.argreduce(op, x, 1, False), x)
            _both(kb, lambda be, x: be.argreduce(op, x, None, False), x)
    y = np.zeros(5000, np.float32)
    y[[1234, 4000]] = np.nan
    _both(kb, lambda be, x: be.argreduce("argmax", x, None, False), y)
    with pytest.raises(ValueError):
        kb.argreduce("argmax", kb.from_numpy(np.ones((0,))), None, False)


# -- copies, casts, views ------------------------------------------------------------------

@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dst", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("src", DTYPES, ids=DT_IDS)
def test_astype(kb, src, dst, layout):
    shape, view = LAYOUTS[layout]
    x = _rand(shape, src, np.random.default_rng(9), special=np.dtype(dst).kind in "fb")
    from minitorch import _dtype as D
    _both(kb, lambda be, x: be.astype(view(be, x), D._BY_NP[np.dtype(dst)]), x)


@pytest.mark.parametrize("shape,perm", [((40, 50), (1, 0)), ((3, 33, 70), (0, 2, 1)),
                                        ((5, 7), (1, 0)), ((2, 3, 4, 5), (3, 1, 0, 2)),
                                        ((64, 32), (1, 0))])
@pytest.mark.parametrize("dt", DTYPES, ids=DT_IDS)
def test_contiguous(kb, dt, shape, perm):
    x = _rand(shape, dt, np.random.default_rng(10))
    _both(kb, lambda be, x: be.contiguous(be.permute(x, perm)), x)
    _both(kb, lambda be, x: be.contiguous(x), x)


def test_copy_(kb):
    rng = np.random.default_rng(11)
    for dt in DTYPES:
        for sdt in DTYPES:
            d0 = _rand((3, 4), dt, rng, special=False)
            s0 = _rand((4,), sdt, rng, special=False)

            def run(be):
                d = be.from_numpy(d0)
                be.copy_(d, be.from_numpy(s0))                      # broadcast + cast
                be.copy_(be.permute(d, (1, 0))[1:3], be.from_numpy(s0[:3]))  # strided dst
                be.copy_(be.slice(d, (0,)), 7)                     # scalar fill
                be.copy_(be.slice(d, (slice(1, None),)), be.slice(d, (slice(None, -1),)))
                be.copy_(be.slice(d, (2, 1)), np.asarray(True))    # 0-d host array
                return d
            _same(kb.to_numpy(run(kb)), run(cpu))


def test_flip_cat_views(kb):
    rng = np.random.default_rng(12)
    for dt in DTYPES:
        x = _rand((3, 4, 5), dt, rng)
        y = _rand((3, 2, 5), dt, rng)
        for dims in ((0,), (1, 2), (-1,), (0, 1, 2)):
            _both(kb, lambda be, x: be.flip(x, dims), x)
        _both(kb, lambda be, x: be.flip(be.permute(x, (2, 1, 0)), (0,)), x)
        _both(kb, lambda be, x: be.flip(x, ()), _rand((), dt, rng))
        _both(kb, lambda be, x, y: be.cat([x, y, x], 1), x, y)
        _both(kb, lambda be, x: be.cat([be.permute(x, (1, 0, 2)), be.permute(x, (1, 0, 2))], 0),
              x)
        _both(kb, lambda be, x: be.cat([x, be.slice(x, (slice(0, 0),))], 0), x)
        _both(kb, lambda be, x: be.reshape(x, (12, 5)), x)
        _both(kb, lambda be, x: be.reshape(x, (-1,)), x)
        _both(kb, lambda be, x: be.reshape(be.permute(x, (1, 0, 2)), (4, 15)), x)
        _both(kb, lambda be, x: be.slice(x, (1, slice(None, None, 2), None)), x)
        _both(kb, lambda be, x: be.expand(be.slice(x, (slice(0, 1),)), (2, 3, 4, 5)), x)


def test_reshape_view_rules(kb):
    for shape, perm, new in [((3, 4), (1, 0), (12,)), ((2, 3, 4), (0, 2, 1), (2, 12)),
                             ((2, 3, 4), (1, 0, 2), (3, 2, 4)), ((2, 3, 4), (1, 0, 2), (6, 4)),
                             ((4, 6), (1, 0), (3, 2, 4)), ((3, 1, 4), (2, 1, 0), (4, 3))]:
        x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
        for be in (cpu, kb):
            a = be.from_numpy(x)
            r = be.reshape(be.permute(a, perm), new)
            exp = cpu.reshape(cpu.permute(x, perm), new)
            assert (r is None) == (exp is None), (shape, perm, new)
            if r is not None:
                _same(be.to_numpy(be.contiguous(r)), np.ascontiguousarray(exp))
                if be is kb:  # a view: writes show through
                    kb.copy_(r, 0.0)
                    assert not kb.to_numpy(a).any()


def test_full_arange_empty(kb):
    from minitorch import _dtype as D
    for d in D.ALL_DTYPES:
        _both(kb, lambda be: be.full((2, 3), 3, d))
        _both(kb, lambda be: be.full((), 0.5 if d.is_floating_point else 1, d))
        _both(kb, lambda be: be.full((0, 3), 1, d))
        assert kb.empty((2, 5), d).shape == (2, 5) and kb.empty((2, 5), d).dtype == d.np
    for args in [(0, 10, 1, D.int64), (3, -7, -2, D.int32), (0.0, 1.0, 0.1, D.float32),
                 (-1.5, 2.0, 0.25, D.float64), (5, 5, 1, D.int64), (0, 2, 1, D.bool),
                 (0, 7, 2, D.float64), (10 ** 12, 10 ** 12 + 5, 1, D.int64)]:
        _both(kb, lambda be: be.arange(*args))


# -- indexing ------------------------------------------------------------------------------

@pytest.mark.parametrize("dt", DTYPES, ids=DT_IDS)
def test_index_and_index_put(kb, dt):
    rng = np.random.default_rng(13)
    x = _rand((5, 4, 3), dt, rng, special=False)
    i0 = rng.integers(0, 5, (2, 3))
    i1 = rng.integers(-4, 4, (2, 3))
    _both(kb, lambda be, x, i: be.index(x, (i,)), x, i0)
    _both(kb, lambda be, x, i, j: be.index(x, (i, j)), x, i0, i1)
    _both(kb, lambda be, x, i, j: be.index(be.permute(x, (2, 0, 1)), (be.slice(i, (0,)),
                                                                       be.slice(j, (1,)))),
          x, i1 % 3, i0)
    _both(kb, lambda be, x: be.index(x, (be.from_numpy(np.zeros((0,), np.int64)),)), x)
    v = _rand((2, 3, 3), dt, rng, special=False)
    dup = np.array([0, 2, 0, 4, 2, 0])
    for acc in (False, True):
        def put(be, x, idx, vals):
            x = be.astype(x, _md(dt))  # a fresh copy to write into
            be.index_put_(x, idx, vals, acc)
            return x
        _both(kb, lambda be, x, i, v: put(be, x, (i,), v), x, i0, v)
        _both(kb, lambda be, x, i, j: put(be, x, (i, j), np.dtype(dt).type(1)), x, i0, i1)
        _both(kb, lambda be, x, i, v: put(be, x, (i,), be.slice(v, (0, 0))), x, i0, v)  # (3,)
        _both(kb, lambda be, x, i, v: put(be, x, (i,), be.permute(v, (1, 0, 2))[0]), x, i0, v)
        if acc:  # duplicates are summed (bools: or)
            _both(kb, lambda be, x, i, v: put(be, x, (i,), v), x, dup,
                  _rand((6, 4, 3), dt, rng, special=False))


def _md(dt):
    from minitorch import _dtype as D
    return D._BY_NP[np.dtype(dt)]


@pytest.mark.parametrize("dt", DTYPES, ids=DT_IDS)
def test_gather_scatter_add(kb, dt):
    rng = np.random.default_rng(14)
    x = _rand((4, 5, 6), dt, rng, special=False)
    for dim in (0, 1, 2, -1):
        ishape = [3, 4, 5]
        ishape[dim] = 7
        idx = rng.integers(0, x.shape[dim], ishape)
        _both(kb, lambda be, x, i: be.gather(x, dim, i), x, idx)
        _both(kb, lambda be, x, i: be.gather(be.permute(be.permute(x, (2, 1, 0)), (2, 1, 0)),
                                             dim, i), x, idx)
        src = _rand(tuple(s + 1 for s in ishape), dt, rng, special=False)

        def sa(be, x, i, s):
            x = be.astype(x, _md(dt))
            be.scatter_add_(x, dim, i, s)
            return x
        _both(kb, sa, x, idx, src)


@pytest.mark.parametrize("dt", DTYPES, ids=DT_IDS)
def test_nonzero(kb, dt, monkeypatch):
    rng = np.random.default_rng(15)
    for shape in [(7,), (3, 4), (2, 3, 4), (0, 3), (5000,), (40, 70)]:
        x = _rand(shape, dt, rng, special=False)
        if np.dtype(dt).kind != "b":
            x = (x * (rng.random(shape) < 0.3)).astype(dt)
        _both(kb, lambda be, x: be.nonzero(x), x)
        _both(kb, lambda be, x: be.nonzero(x), np.zeros(shape, dt))
    _both(kb, lambda be, x: be.nonzero(be.permute(x, (1, 0))), _rand((30, 20), dt, rng, False))
    monkeypatch.setattr(kb, "_max_grid", 3)       # several chunks per block
    _both(kb, lambda be, x: be.nonzero(x), _rand((9000,), dt, rng, special=False))


# -- random --------------------------------------------------------------------------------

def test_philox_known_answers(kb):
    """Random123's known-answer vectors for Philox4x32-10."""
    out = kb.xp.empty((4,), np.uint32)
    fn = kb.kernel("random.cu", "random_bits")
    fn((1,), (32,), (np.int64(1), np.uint64(0), np.uint64(0), out))
    assert [int(v) for v in kb.to_numpy(out)] == [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]


def _gen(seed=1234):
    g = minitorch.Generator()
    g.manual_seed(seed)
    return g


def test_random_uniform_normal(kb):
    from minitorch import _dtype as D
    for d in (D.float32, D.float64):
        g = _gen()
        u = kb.to_numpy(kb.uniform((20000,), -2.0, 3.0, d, g))
        assert u.dtype == d.np and u.min() >= -2.0 and u.max() < 3.0
        assert abs(u.mean() - 0.5) < 0.05 and abs(u.std() - 5 / 12 ** 0.5) < 0.05
        assert g.offset == 20000
        u2 = kb.to_numpy(kb.uniform((20000,), -2.0, 3.0, d, g))
        assert not np.array_equal(u, u2)                      # the offset advanced
        g.manual_seed(1234)
        assert np.array_equal(kb.to_numpy(kb.uniform((20000,), -2.0, 3.0, d, g)), u)
        z = kb.to_numpy(kb.normal((4, 10000), 1.0, 2.0, d, _gen(7)))
        assert z.shape == (4, 10000) and z.dtype == d.np and np.isfinite(z).all()
        assert abs(z.mean() - 1.0) < 0.05 and abs(z.std() - 2.0) < 0.05
        assert kb.uniform((0, 3), 0.0, 1.0, d, g).shape == (0, 3)


def test_random_randint_bernoulli_randperm(kb):
    from minitorch import _dtype as D
    for d in (D.int32, D.int64, D.bool, D.float32):
        r = kb.to_numpy(kb.randint((5000,), -3, 4 if d is not D.bool else 2, d, _gen()))
        lo = 0 if d is D.bool else -3
        assert r.dtype == d.np and r.min() == lo and r.max() == (1 if d is D.bool else 3)
    big = kb.to_numpy(kb.randint((1000,), -2 ** 63, 2 ** 63 - 1, D.int64, _gen()))
    assert big.min() < -2 ** 60 and big.max() > 2 ** 60
    with pytest.raises(ValueError):
        kb.randint((3,), 5, 5, D.int64, _gen())
    for dt in (np.float32, np.float64):
        p = np.array([[0.0, 1.0, 0.25] * 3000], dt)
        b = kb.to_numpy(kb.bernoulli(kb.from_numpy(p), _gen()))
        assert b.dtype == dt and b.shape == p.shape
        assert (b[0, 0::3] == 0).all() and (b[0, 1::3] == 1).all()
        assert abs(b[0, 2::3].mean() - 0.25) < 0.03
    perm = kb.to_numpy(kb.randperm(100, D.int64, _gen()))
    assert sorted(perm.tolist()) == list(range(100))


# -- 64-bit index math ---------------------------------------------------------------------

def test_strides_past_2_31(kb):
    """A view whose element offsets pass 2^31, over a lazily-allocated anonymous mapping
    (only the touched pages cost memory): the kernels must not truncate offsets to 32 bits."""
    if not kb._sim:
        pytest.skip("host memory trick: cudasim only")
    n = 2 ** 31 + 2 ** 20
    try:
        mm = mmap.mmap(-1, n)
    except (OSError, OverflowError, ValueError) as e:  # a 32-bit host, strict overcommit
        pytest.skip(f"cannot map {n} bytes of address space: {e}")
    base = np.frombuffer(mm, dtype=np.uint8)
    big = np.lib.stride_tricks.as_strided(base.view(np.bool_), (2, 3), (2 ** 31 + 7, 1))
    big[1] = [True, False, True]
    big[0] = [False, True, True]
    exp = np.array(big)
    _same(kb.contiguous(big), exp)
    _same(kb.unary("logical_not", big), ~exp)
    _same(kb.binary("bitwise_xor", big, kb.from_numpy(exp[::-1].copy())), exp ^ exp[::-1])
    _same(kb.reduce("any", big, (0,), False), exp.any(0))
    _same(kb.reduce("sum", big, (1,), False), exp.sum(1).astype(bool))
    _same(kb.argreduce("argmax", big, 0, False), exp.argmax(0))
    kb.copy_(big, kb.from_numpy(np.ones((2, 3), bool)))
    assert big.all()
    del big, base
    mm.close()


# -- the contract, and the kernel files' teaching comments -----------------------------------

def test_implements_every_primitive(kb):
    from minitorch.backends.kernel import KernelBackend
    missing = [n for n in base.primitive_names()
               if getattr(KernelBackend, n) is getattr(base.Backend, n)]
    assert not missing, f"KernelBackend lacks {missing}"
    assert set(kb.binary_table) == set(base.BINARY_OPS)
    assert kb.array_type is kb.xp.ndarray
    assert kb.name == "cudasim"


@pytest.mark.parametrize("path", sorted((ROOT / "kernels").glob("*.cu")), ids=lambda p: p.name)
def test_kernel_file_opens_with_teaching_comment(path):
    """Each kernel file opens with a comment that says what it computes, how threads map to
    data, and which CUDA idea it shows (GUIDE.md, house rules)."""
    rule = ("see docs/kernels.md, 'The opening comment every kernel file has' (at least 8 // "
            "lines: what it computes, how threads map to data, the CUDA idea it shows)")
    text = path.read_text()
    m = re.match(r"((?:[ \t]*//[^\n]*\n)+)", text)
    assert m, f"{path.name} does not open with a // comment block; {rule}"
    head = m.group(1).lower()
    assert len(head.splitlines()) >= 8, f"{path.name}: the opening comment is too short; {rule}"
    assert "comput" in head, f"{path.name}: say what it computes; {rule}"
    assert "thread" in head, f"{path.name}: say how threads map to data; {rule}"
    assert "cuda idea" in head, f"{path.name}: name the CUDA idea(s) it shows; {rule}"
