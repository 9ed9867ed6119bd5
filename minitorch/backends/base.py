"""The backend contract: the primitives every device implements, and nothing more.

Everything else in minitorch (autograd, ``var``, ``logsumexp``, indexing with masks,
``repeat``, losses, layers ...) is written in Python on top of this list.  Arrays are the
device's own array type (``numpy.ndarray`` on cpu, ``cupy.ndarray`` on cuda); they expose
``.shape``, ``.ndim``, ``.size`` and a NumPy ``.dtype``.  Shapes, dtypes and devices are
checked by the Tensor layer *before* a primitive is called: a primitive may assume its
operands are valid (broadcastable, same device, already promoted to a common dtype).

``dtype`` arguments are ``minitorch.dtype`` objects (``dtype.np`` is the NumPy dtype).
Scalar operands of ``binary`` are Python numbers; the result has the array operand's dtype.
"""
from __future__ import annotations

# name -> one-line meaning; docs/design.md renders this table, tests check every backend
# implements each entry.
UNARY_OPS = {
    "neg": "-x", "exp": "e**x", "log": "ln x", "log1p": "ln(1+x)", "sqrt": "sqrt x",
    "rsqrt": "1/sqrt x", "abs": "|x|", "sign": "-1, 0 or 1", "sin": "sin x", "cos": "cos x",
    "tanh": "tanh x", "sigmoid": "1/(1+e**-x)", "relu": "max(x, 0)", "floor": "floor x",
    "ceil": "ceil x", "round": "round half to even", "logical_not": "not x (bool result)",
    "bitwise_not": "~x (ints and bools)", "isnan": "x != x (bool result)",
}
BINARY_OPS = {
    "add": "a+b", "sub": "a-b", "mul": "a*b", "div": "a/b (floats)", "pow": "a**b",
    "maximum": "max(a,b), NaN propagates", "minimum": "min(a,b), NaN propagates",
    "floor_divide": "floor(a/b)", "remainder": "a - floor(a/b)*b (sign of b)",
    "eq": "a==b", "ne": "a!=b", "lt": "a<b", "le": "a<=b", "gt": "a>b", "ge": "a>=b",
    "bitwise_and": "a&b", "bitwise_or": "a|b", "bitwise_xor": "a^b",
}
COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})
REDUCE_OPS = ("sum", "prod", "max", "min", "all", "any")
ARGREDUCE_OPS = ("argmax", "argmin")


class Backend:
    """Abstract device backend.  Each method below is one primitive of the contract.

    Two attributes serve the binary-operator fast path: ``binary_table`` maps each of
    BINARY_OPS to a callable(a, b) (same contract as ``binary``), and ``array_type`` is the
    class of the device's arrays; a result of another class goes through ``asarray``.
    """

    name = "abstract"
    array_type = object
    binary_table: dict = {}

    def asarray(self, r):
        """Coerce a scalar result of a ``binary_table`` call to a 0-d device array."""
        raise NotImplementedError

    # -- memory and movement -------------------------------------------------------------
    def from_numpy(self, a):
        """Host ``numpy.ndarray`` -> device array (always a copy or a fresh buffer)."""
        raise NotImplementedError

    def to_numpy(self, x):
        """Device array -> host ``numpy.ndarray`` (may share memory on cpu)."""
        raise NotImplementedError

    def empty(self, shape, dtype):
        raise NotImplementedError

    def full(self, shape, value, dtype):
        raise NotImplementedError

    def arange(self, start, stop, step, dtype):
        raise NotImplementedError

    def astype(self, x, dtype):
        """Cast to ``dtype`` (a new contiguous array)."""
        raise NotImplementedError

    def contiguous(self, x):
        """Strided -> C-contiguous copy (returns ``x`` if already contiguous)."""
        raise NotImplementedError

    def copy_(self, dst, src):
        """Write ``src`` (array broadcastable to ``dst``, or a scalar) into ``dst`` in place."""
        raise NotImplementedError

    # -- views: share memory with their input --------------------------------------------
    def reshape(self, x, shape):
        """A view with the new shape, or None if the strides do not allow one."""
        raise NotImplementedError

    def permute(self, x, dims):
        raise NotImplementedError

    def expand(self, x, shape):
        """Broadcast view (stride 0 along expanded dims)."""
        raise NotImplementedError

    def slice(self, x, key):
        """Basic indexing: ``key`` is a tuple of ints, slices (any step > 0) and None."""
        raise NotImplementedError

    def flip(self, x, dims):
        raise NotImplementedError

    # -- compute ---------------------------------------------------------------------------
    def unary(self, op, x):
        """One of UNARY_OPS, elementwise, same dtype (bool for logical_not/isnan)."""
        raise NotImplementedError

    def binary(self, op, a, b):
        """One of BINARY_OPS with broadcasting; same dtype in, same dtype out (bool for
        COMPARISONS).  One operand may be a Python scalar."""
        raise NotImplementedError

    def where(self, cond, a, b):
        """cond ? a : b, broadcasting; ``a``/``b`` may be scalars."""
        raise NotImplementedError

    def reduce(self, op, x, axes, keepdim):
        """One of REDUCE_OPS over ``axes`` (a tuple). sum/prod keep the dtype they are given."""
        raise NotImplementedError

    def argreduce(self, op, x, axis, keepdim):
        """argmax/argmin along one axis (``None``: over the flattened array); int64 result.
        Ties give the first index."""
        raise NotImplementedError

    def matmul(self, a, b):
        """Batched matrix product: (..., n, k) @ (..., k, m) with broadcast batch dims."""
        raise NotImplementedError

    def log_softmax(self, x, axis):
        """Fused, numerically stable log-softmax along ``axis``."""
        raise NotImplementedError

    def softmax(self, x, axis):
        raise NotImplementedError

    def cat(self, xs, axis):
        raise NotImplementedError

    # -- indexing ------------------------------------------------------------------------
    def index(self, x, idxs):
        """``x[idxs]`` where ``idxs`` is a tuple of k int64 arrays of one shape B indexing
        the first k dims; result shape B + x.shape[k:].  Indices are in range."""
        raise NotImplementedError

    def index_put_(self, x, idxs, values, accumulate):
        """In place: ``x[idxs] = values`` (or ``+=`` with duplicates summed if accumulate)."""
        raise NotImplementedError

    def gather(self, x, dim, index):
        raise NotImplementedError

    def scatter_add_(self, x, dim, index, src):
        raise NotImplementedError

    def nonzero(self, x):
        """Tuple of int64 index arrays, one per dim, of the nonzero elements (row-major)."""
        raise NotImplementedError

    # -- random --------------------------------------------------------------------------
    def uniform(self, shape, low, high, dtype, gen):
        raise NotImplementedError

    def normal(self, shape, mean, std, dtype, gen):
        raise NotImplementedError

    def randint(self, shape, low, high, dtype, gen):
        raise NotImplementedError

    def randperm(self, n, dtype, gen):
        raise NotImplementedError

    def bernoulli(self, x, gen):
        """1.0 with probability ``x`` (elementwise), else 0.0; dtype of ``x``."""
        raise NotImplementedError


def primitive_names():
    """Every method a backend must implement (what tests check against)."""
    return sorted(n for n, v in vars(Backend).items() if callable(v) and not n.startswith("__"))
