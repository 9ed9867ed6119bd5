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
    "expm1": "e**x - 1, accurate near 0", "tan": "tan x",
}
BINARY_OPS = {
    "add": "a+b", "sub": "a-b", "mul": "a*b", "div": "a/b (floats)", "pow": "a**b",
    "maximum": "max(a,b), NaN propagates", "minimum": "min(a,b), NaN propagates",
    "floor_divide": "floor(a/b)", "remainder": "a - floor(a/b)*b (sign of b)",
    "fmod": "a - trunc(a/b)*b (C fmod: sign of a)",
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
        """An uninitialized array of ``shape`` and ``dtype``."""
        raise NotImplementedError

    def full(self, shape, value, dtype):
        """An array of ``shape`` filled with the Python scalar ``value``."""
        raise NotImplementedError

    def arange(self, start, stop, step, dtype):
        """``start, start+step, ...`` up to (excluding) ``stop``."""
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
        """A view with the dims reordered (``dims`` is a permutation tuple)."""
        raise NotImplementedError

    def expand(self, x, shape):
        """Broadcast view (stride 0 along expanded dims)."""
        raise NotImplementedError

    def slice(self, x, key):
        """Basic indexing: ``key`` is a tuple of ints, slices (any step > 0) and None."""
        raise NotImplementedError

    def flip(self, x, dims):
        """A *copy* with the elements reversed along ``dims`` (PyTorch's flip copies)."""
        raise NotImplementedError

    # -- compute ---------------------------------------------------------------------------
    def unary(self, op, x):
        """One of UNARY_OPS, elementwise, same dtype (bool for logical_not/isnan)."""
        raise NotImplementedError

    def binary(self, op, a, b, out=None):
        """One of BINARY_OPS with broadcasting; same dtype in, same dtype out (bool for
        COMPARISONS).  One operand may be a Python scalar.  With ``out`` (an array of the
        broadcast shape and the result dtype, possibly ``a`` itself) the result is written
        there in place: what in-place ops and optimizer updates use."""
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
        """Fused, numerically stable log-softmax along ``axis`` (x - max - log sum exp(x -
        max): a row whose max is +-inf or NaN is all NaN, as in PyTorch)."""
        raise NotImplementedError

    def softmax(self, x, axis):
        """Fused, numerically stable softmax along ``axis``."""
        raise NotImplementedError

    def cat(self, xs, axis):
        """Concatenate arrays (same dtype, equal sizes off ``axis``) along ``axis``."""
        raise NotImplementedError

    # -- fused normalization and activation (issue 12) -----------------------------------
    def gelu(self, x, approximate):
        """GELU of a float array, elementwise: ``x * Phi(x)`` with the normal cdf ``Phi(x) =
        (1 + erf(x / sqrt 2)) / 2`` (``approximate="none"``) or ``0.5 x (1 + tanh(sqrt(2/pi)
        (x + 0.044715 x**3)))`` (``"tanh"``), as ``torch.nn.functional.gelu``."""
        raise NotImplementedError

    def gelu_backward(self, grad, x, approximate):
        """The gradient of ``gelu`` w.r.t. ``x`` given the upstream ``grad`` (same shape):
        ``grad * (Phi(x) + x * exp(-x**2 / 2) / sqrt(2 pi))``, or the derivative of the tanh
        form (PyTorch's formulas)."""
        raise NotImplementedError

    def layer_norm(self, x, weight, bias, eps):
        """Layer norm of each row of a contiguous (M, N) float array: returns ``(out, mean,
        rstd)`` with ``mean``, ``rstd`` (M,) the row mean and ``1/sqrt(var + eps)`` (biased
        variance) and ``out = (x - mean) * rstd * weight + bias``; ``weight``/``bias`` are
        (N,) arrays of x's dtype or None (1 and 0)."""
        raise NotImplementedError

    def layer_norm_backward(self, grad, x, mean, rstd, weight):
        """The gradients ``(dx, dweight, dbias)`` of ``layer_norm`` given ``grad`` (M, N)
        and the saved ``mean``/``rstd``: with ``xhat = (x - mean) * rstd`` and ``gw = grad *
        weight``, ``dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))`` (row means),
        ``dweight = sum over rows of grad * xhat``, ``dbias = sum over rows of grad``."""
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
        """``out[i][j] = x[i][index[i][j]]`` (dim=1); ``index`` may be smaller than ``x``
        off ``dim``; indices are in range."""
        raise NotImplementedError

    def scatter_add_(self, x, dim, index, src):
        """In place: ``x[i][index[i][j]] += src[i][j]`` (dim=1), duplicates summed."""
        raise NotImplementedError

    def nonzero(self, x):
        """Tuple of int64 index arrays, one per dim, of the nonzero elements (row-major)."""
        raise NotImplementedError

    # -- random --------------------------------------------------------------------------
    def uniform(self, shape, low, high, dtype, gen):
        """Uniform samples in [low, high) drawn from Generator ``gen``."""
        raise NotImplementedError

    def normal(self, shape, mean, std, dtype, gen):
        """Normal samples N(mean, std**2) drawn from Generator ``gen``."""
        raise NotImplementedError

    def randint(self, shape, low, high, dtype, gen):
        """Integers uniform in [low, high) drawn from Generator ``gen``."""
        raise NotImplementedError

    def randperm(self, n, dtype, gen):
        """A random permutation of ``0 .. n-1`` drawn from Generator ``gen``."""
        raise NotImplementedError

    def bernoulli(self, x, gen):
        """1.0 with probability ``x`` (elementwise), else 0.0; dtype of ``x``."""
        raise NotImplementedError

    # -- convolution and pooling (fused) --------------------------------------------------
    # ``kernel``, ``stride``, ``padding``, ``dilation`` are (h, w) pairs of ints; padding is
    # zeros on both sides.  Output size per spatial dim (floor mode):
    #     out = (in + 2*padding - dilation*(kernel-1) - 1) // stride + 1
    def im2col(self, x, kernel, stride, padding, dilation):
        """Unfold sliding windows: (N, C, H, W) -> (N, C*kh*kw, oh*ow), contiguous.

        Row ``(c*kh + i)*kw + j`` holds, for every window position ``l = y*ow + x``, the input
        value at ``(c, y*sh - ph + i*dh, x*sw - pw + j*dw)`` (0 where that lies in the
        padding).  Convolution is then one matmul with the flattened weight."""
        raise NotImplementedError

    def im2col_t(self, x, kernel, stride, padding, dilation):
        """``im2col`` with the batch folded into the columns: (N, C, H, W) -> (C*kh*kw,
        N*oh*ow), contiguous; column ``n*oh*ow + l`` is column ``l`` of sample ``n``.  What
        conv2d multiplies the (O, C*kh*kw) weight with (one GEMM for the whole batch),
        without transposing ``im2col``'s (N, C*kh*kw, L) result in a second copy."""
        raise NotImplementedError

    def col2im(self, cols, input_shape, kernel, stride, padding, dilation):
        """The adjoint of ``im2col``: (N, C*kh*kw, oh*ow) -> zeros of ``input_shape``
        (N, C, H, W) with every column entry *added* at the input position it was read from
        (overlapping windows sum; entries that fall in the padding are dropped)."""
        raise NotImplementedError

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        """Max over each window of (N, C, H, W) -> (values, indices), both (N, C, oh, ow).

        Padding counts as -inf.  ``indices`` (int64) are flat positions ``h*W + w`` in the
        input plane of the first maximum (what PyTorch returns with ``return_indices``); the
        backward scatters into them.  ``ceil_mode``: out = ceil(... / stride) + 1 instead of
        floor, less one if the last window would start in the right/bottom padding."""
        raise NotImplementedError

    # -- fused loss and optimizer updates -------------------------------------------------
    def cross_entropy(self, logits, target, ignore_index):
        """Per-row cross-entropy of (N, C) ``logits`` and int64 class indices ``target`` (N,):
        returns ``(loss, lse)``, both (N,) in the logits' dtype.

        ``lse[i] = m + log(sum(exp(logits[i] - m)))`` with ``m`` the row max (NaN for a row
        whose max is not finite, as ``log_softmax``); ``loss[i] = lse[i] -
        logits[i, target[i]]``, or 0 where ``target[i] == ignore_index``.  Other targets are
        in ``[0, C)``."""
        raise NotImplementedError

    def cross_entropy_backward(self, logits, target, lse, grad, ignore_index):
        """The gradient of ``cross_entropy``'s loss w.r.t. ``logits``: (N, C) with
        ``grad[i] * (exp(logits[i, j] - lse[i]) - (j == target[i]))``, and zero rows where
        ``target[i] == ignore_index``; ``grad`` (N,) is the upstream gradient per row."""
        raise NotImplementedError

    def sgd_update_(self, p, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                    maximize):
        """``torch.optim.SGD``'s update, in place on ``p`` (and the momentum buffer ``buf``).

        ``buf`` is None on the first step (or without momentum); returns the buffer: ``buf``
        itself, a new array on the first step with momentum, None without momentum.  Every
        operation rounds in ``p``'s dtype, in PyTorch's order (results agree bit for bit)."""
        raise NotImplementedError

    def adam_update_(self, p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1,
                     beta2, eps, weight_decay, amsgrad, maximize, decoupled):
        """``torch.optim.Adam``'s update (``decoupled``: AdamW's weight decay), in place on
        ``p``, ``exp_avg``, ``exp_avg_sq`` and, with ``amsgrad``, ``max_exp_avg_sq``.
        ``step`` (a float) already counts this update.  Rounds like PyTorch, bit for bit."""
        raise NotImplementedError

    # -- fused attention ------------------------------------------------------------------
    def attention(self, q, k, v, mask, causal, scale):
        """Fused scaled dot-product attention of ``q`` (B, L, E), ``k`` (B, S, E), ``v``
        (B, S, Ev) (one float dtype): returns ``(out, lse)``, (B, L, Ev) and (B, L).

        ``s = scale * q @ k^T + mask`` (``mask``: None or an additive (B or 1, L, S) array of
        the same dtype, -inf where a key takes no part), with ``s[b, i, j] = -inf`` for
        ``j > i`` when ``causal``; ``out = softmax(s, -1) @ v`` and ``lse = log sum exp(s)``
        per row.  A row whose every score is -inf gives zeros (as PyTorch) and lse = -inf.
        Implementations need not store the (L, S) score matrix."""
        raise NotImplementedError

    def attention_backward(self, q, k, v, out, lse, grad, mask, causal, scale):
        """The gradients ``(dq, dk, dv)`` of ``attention``'s ``out`` given its upstream
        gradient ``grad`` (B, L, Ev), recomputing the probabilities ``p = exp(s - lse)``
        (0 where s = -inf): ``dv = p^T grad``, ``ds = p * (grad @ v^T - rowsum(grad *
        out))``, ``dq = scale * ds @ k``, ``dk = scale * ds^T @ q``."""
        raise NotImplementedError

    # -- fused recurrent cells (nn.LSTM / nn.GRU, issue #12) --------------------------------
    # ``gi`` is the input projection x @ W_ihᵀ + b_ih of one time step, ``gh`` the hidden
    # projection h @ W_hhᵀ (without bias), ``b`` the hidden bias b_hh or None; rows are the
    # batch, gate blocks of H columns in PyTorch's order.  One float dtype throughout.
    def lstm_cell(self, gi, gh, b, c):
        """One LSTM step from ``gi``, ``gh`` (N, 4H), ``b`` (4H,) or None and ``c`` (N, H):
        returns ``(h', c', act)``.  ``gates = gi + (gh + b)`` (PyTorch's order of the sums)
        split into i, f, g, o; ``act`` (N, 4H) holds ``sigmoid(i), sigmoid(f), tanh(g),
        sigmoid(o)`` (what the backward needs); ``c' = sigmoid(f)*c + sigmoid(i)*tanh(g)``,
        ``h' = sigmoid(o) * tanh(c')``."""
        raise NotImplementedError

    def lstm_cell_backward(self, act, c, c_new, dh, dc):
        """The gradients ``(dgates, dc_prev)`` of ``lstm_cell`` from its saved ``act``
        (N, 4H), the previous and new cell states ``c``, ``c_new`` (N, H) and the upstream
        gradients ``dh`` (N, H) and ``dc`` (N, H, or None for zero): with ``t = tanh(c')``,
        ``dc_tot = dc + dh*o*(1-t**2)``; ``dgates`` (N, 4H) is ``dc_tot*g*i*(1-i)``,
        ``dc_tot*c*f*(1-f)``, ``dc_tot*i*(1-g**2)``, ``dh*t*o*(1-o)`` (the gradient of the
        pre-activation gates, i.e. of ``gi`` and of ``gh``); ``dc_prev = dc_tot*f``."""
        raise NotImplementedError

    def gru_cell(self, gi, gh, b, h):
        """One GRU step from ``gi``, ``gh`` (N, 3H), ``b`` (3H,) or None and ``h`` (N, H):
        returns ``(h', ws)``.  With ``hh = gh + b`` split into r, z, n blocks:
        ``r = sigmoid(gi_r + hh_r)``, ``z = sigmoid(gi_z + hh_z)``,
        ``n = tanh(gi_n + r*hh_n)``, ``h' = (h - n)*z + n`` (PyTorch's order); ``ws``
        (N, 4H) holds ``r, z, n, hh_n`` for the backward."""
        raise NotImplementedError

    def gru_cell_backward(self, ws, h, dh):
        """The gradients ``(dgi, dgh, dh_direct)`` of ``gru_cell`` from its saved ``ws``,
        the previous state ``h`` (N, H) and the upstream ``dh`` (N, H): with
        ``dn = dh*(1-z)*(1-n**2)``, ``dr = dn*hh_n*r*(1-r)``, ``dz = dh*(h-n)*z*(1-z)``:
        ``dgi = [dr, dz, dn]`` and ``dgh = [dr, dz, dn*r]`` (N, 3H; ``dgh`` is also the
        gradient of ``b``), ``dh_direct = dh*z`` (the part of dh_prev that does not go
        through ``gh``)."""
        raise NotImplementedError


def primitive_names():
    """Every method a backend must implement (what tests check against)."""
    import inspect
    return sorted(n for n, v in vars(Backend).items()
                  if inspect.isfunction(v) and not n.startswith("__"))
