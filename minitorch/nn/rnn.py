"""Recurrent layers: ``RNN`` (tanh or relu), ``LSTM``, ``GRU`` and their one-step cells
``RNNCell``, ``LSTMCell``, ``GRUCell``, with PyTorch's shapes, parameter names, gate order
and initialization (every weight and bias ~ U(-1/√hidden, 1/√hidden)).

The input projection ``x @ W_ihᵀ + b_ih`` is done for all time steps at once (one
matmul).  The recurrence of one layer and direction is then ONE graph node (``_LSTMLayer``,
``_GRULayer``, ``_RNNLayer``): its forward loops over time on raw backend arrays -- per step
one ``matmul`` (h @ W_hhᵀ) and one fused cell primitive (``lstm_cell`` / ``gru_cell``:
bias add, every gate activation and the new state in one call, saving what backward needs)
-- and its backward loops back over time with ``lstm_cell_backward`` / ``gru_cell_backward``
and one ``matmul`` per step, then forms W_hh's gradient as ONE matmul over all steps.  No
autograd node, Tensor or engine visit per step: the per-step cost is a few backend calls.
With ``create_graph=True`` the backward recomputes the layer in Tensor ops and
differentiates that (so double backward works).  The cells (``LSTMCell`` ...) are one
matmul node plus one fused cell node (``_LSTMCellFn`` / ``_GRUCellFn``).  Gates (rows of
the weights, in order):

    LSTM  i, f, g, o:   c' = σ(f)*c + σ(i)*tanh(g),   h' = σ(o)*tanh(c')
    GRU   r, z, n:      n  = tanh(x_n + σ(r) * (W_hn h + b_hn)),   h' = (1-σ(z))*n + σ(z)*h
    RNN:                h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)   (or relu)

``PackedSequence`` inputs run through ``nn.utils.rnn.rnn_forward_packed``.  Not supported:
LSTM ``proj_size`` (NotImplementedError).
"""
from __future__ import annotations

import math
import warnings
from typing import Optional, Tuple

from ..autograd.function import Function, is_grad_enabled
from ..autograd.grad_mode import enable_grad
from ..creation import empty, zeros
from ..ops.shape import cat, stack
from ..tensor import Tensor, _make, _shape_str
from . import init
from .functional.noise import dropout as _dropout
from .functional.dense import linear
from .module import Module
from .parameter import Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# -- one time step: gi = x W_ihᵀ + b_ih (precomputed), h (and c) the previous state -------
def _rnn_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Optional[Tensor], relu: bool):
    pre = gi + linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _lstm_step(gi: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Optional[Tensor]):
    i, f, g, o = (gi + linear(h, w_hh, b_hh)).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _gru_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Optional[Tensor]):
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = linear(h, w_hh, b_hh).chunk(3, -1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return (1 - z) * n + z * h


def _wrap(raw, like: Tensor) -> Tensor:
    return _make(raw, like._device, False, None, 0, None)


def _raw(t: Optional[Tensor]):
    return None if t is None else t._data


# -- fused cells: one graph node for the gates and the new state of one step ---------------
class _LSTMCellFn(Function):
    """(gi, gh, b_hh, c) -> (h', c') on ``lstm_cell``; gh = h @ W_hhᵀ (no bias)."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, gi, gh, b, c):
        be = gi._device._be
        h2, c2, act = be.lstm_cell(gi._data, gh._data, _raw(b), c._data)
        if any(ctx.needs_input_grad):
            ctx.save_for_backward(gi, gh, b, c)
            ctx.raw = (act, c2)
        return h2, c2

    @staticmethod
    def backward(ctx, dh, dc):
        gi, gh, b, c = ctx.saved_tensors
        nig = ctx.needs_input_grad
        if is_grad_enabled():  # create_graph: the same step in Tensor ops, differentiated
            outs, al = _recompute(_lstm_cell_ops, (gi, gh, b, c))
            return _grads_of(outs, (dh, dc), al, nig)
        be = gi._device._be
        act, c2 = ctx.raw
        d, dcp = be.lstm_cell_backward(act, c._data, c2, be.contiguous(dh._data),
                                       be.contiguous(dc._data))
        dg = _wrap(d, gi)
        db = _wrap(be.reduce("sum", d, (0,), False), gi) if nig[2] else None
        return dg, dg, db, _wrap(dcp, gi)


class _GRUCellFn(Function):
    """(gi, gh, b_hh, h) -> h' on ``gru_cell``; gh = h @ W_hhᵀ (no bias)."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, gi, gh, b, h):
        be = gi._device._be
        h2, ws = be.gru_cell(gi._data, gh._data, _raw(b), h._data)
        if any(ctx.needs_input_grad):
            ctx.save_for_backward(gi, gh, b, h)
            ctx.raw = ws
        return h2

    @staticmethod
    def backward(ctx, dh):
        gi, gh, b, h = ctx.saved_tensors
        nig = ctx.needs_input_grad
        if is_grad_enabled():
            outs, al = _recompute(lambda gi, gh, b, h: (
                _gru_gates(gi, gh if b is None else gh + b, h),), (gi, gh, b, h))
            return _grads_of(outs, (dh,), al, nig)
        be = gi._device._be
        dgi, dgh, dhd = be.gru_cell_backward(ctx.raw, h._data, be.contiguous(dh._data))
        db = _wrap(be.reduce("sum", dgh, (0,), False), gi) if nig[2] else None
        return _wrap(dgi, gi), _wrap(dgh, gi), db, _wrap(dhd, gi)


def _lstm_cell_ops(gi, gh, b, c):
    hh = gh if b is None else gh + b
    i, f, g, o = (gi + hh).chunk(4, -1)
    c2 = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c2.tanh(), c2


def _gru_gates(gi, hh, h):
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = hh.chunk(3, -1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return (h - n) * z + n


def _recompute(fn, inputs):
    """create_graph backward, step 1: run ``fn`` (the node's computation in Tensor ops) on
    clones of the inputs.  A clone is a new graph node on top of its input, so the gradient
    with respect to it is the *partial* derivative (an input that depends on another, such
    as gh = h @ W_hhᵀ and h, does not add its path), while the result stays connected to the
    inputs' history (so it can be differentiated again)."""
    with enable_grad():
        al = tuple(t.clone() if t is not None and t.requires_grad else t for t in inputs)
        return fn(*al), al


def _grads_of(outs, grads, inputs, nig):
    """create_graph backward, step 2: d(outs)/d(inputs needing a gradient) as a
    differentiable graph (``inputs`` are the clones of ``_recompute``)."""
    from ..autograd.engine import grad as _grad
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None and o.requires_grad]
    want = [i for i, (t, n) in enumerate(zip(inputs, nig)) if n and t is not None]
    res = [None] * len(inputs)
    if not pairs or not want:
        return tuple(res)
    gs = _grad([o for o, _ in pairs], [inputs[i] for i in want], [g for _, g in pairs],
               create_graph=True, allow_unused=True)
    for i, g in zip(want, gs):
        res[i] = g
    return tuple(res)


# -- whole layers: one graph node for the recurrence of one layer and direction -----------
def _time_steps(T: int, reverse: bool):
    return range(T - 1, -1, -1) if reverse else range(T)


def _stack_raw(be, arrs):
    """(T, N, K) from T arrays (N, K), through ``cat`` (one copy)."""
    n, k = arrs[0].shape
    return be.cat([be.reshape(a, (1, n, k)) for a in arrs], 0)


class _RecurrentLayer(Function):
    """``(gi (T, N, G*H), h0, c0 | None, w_hh, b_hh | None, mode, reverse)`` ->
    ``(out (T, N, H), h_T, c_T | h_T)``: the recurrence of one layer and direction."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, gi, h0, c0, w_hh, b_hh, mode, reverse):
        be = gi._device._be
        g, h, c = gi._data, h0._data, _raw(c0)
        b = _raw(b_hh)
        wt = be.permute(w_hh._data, (1, 0))
        T = g.shape[0]
        saving = any(ctx.needs_input_grad)
        hs = [None] * T      # h after step t (time index t)
        hp = [None] * T      # h before step t
        ws = [None] * T      # what the cell's backward needs
        cs = [None] * T      # c before step t (LSTM)
        for t in _time_steps(T, reverse):
            git = be.slice(g, (t,))
            gh = be.matmul(h, wt)
            hp[t] = h
            if mode == "LSTM":
                cs[t] = c
                h, c, ws[t] = be.lstm_cell(git, gh, b, c)
            elif mode == "GRU":
                h, ws[t] = be.gru_cell(git, gh, b, h)
            else:
                pre = be.binary("add", gh, b) if b is not None else gh
                pre = be.binary("add", git, pre)
                h = be.unary("relu" if mode == "RNN_RELU" else "tanh", pre)
            hs[t] = h
        out = _stack_raw(be, hs)
        if saving:
            ctx.save_for_backward(gi, h0, c0, w_hh, b_hh)
            ctx.raw = (hp, hs, ws, cs, c)
            ctx._layer = (mode, reverse)
        if mode == "LSTM":
            return out, h, c
        return out, h

    @staticmethod
    def backward(ctx, dout, dh_last, dc_last=None):
        gi, h0, c0, w_hh, b_hh = ctx.saved_tensors
        nig = ctx.needs_input_grad
        mode, reverse = ctx._layer
        if is_grad_enabled():  # create_graph: recompute in Tensor ops and differentiate
            outs, al = _recompute(lambda *a: _layer_ops(*a, mode, reverse),
                                  (gi, h0, c0, w_hh, b_hh))
            grads = (dout, dh_last, dc_last) if mode == "LSTM" else (dout, dh_last)
            return _grads_of(outs, grads, al, nig[:5]) + (None, None)
        be = gi._device._be
        hp, hs, ws, cs, c_last = ctx.raw
        w = w_hh._data
        T = gi._data.shape[0]
        do = dout._data
        dh = dh_last._data
        dc = _raw(dc_last)
        d_in = [None] * T    # gradient of gi at step t
        d_hh = [None] * T    # gradient of gh (= of b_hh) at step t
        order = list(_time_steps(T, reverse))
        for k in range(T - 1, -1, -1):
            t = order[k]
            dh = be.binary("add", be.slice(do, (t,)), dh)
            if mode == "LSTM":
                c_new = cs[order[k + 1]] if k + 1 < T else c_last
                d, dc = be.lstm_cell_backward(ws[t], cs[t], c_new, dh, dc)
                d_in[t] = d_hh[t] = d
                if k or nig[1]:
                    dh = be.matmul(d, w)
            elif mode == "GRU":
                dgi, dgh, dhd = be.gru_cell_backward(ws[t], hp[t], dh)
                d_in[t], d_hh[t] = dgi, dgh
                if k or nig[1]:
                    dh = be.binary("add", dhd, be.matmul(dgh, w))
            else:
                h = hs[t]
                if mode == "RNN_RELU":
                    d = be.where(be.binary("gt", h, 0), dh, 0)
                else:
                    d = be.binary("mul", dh, be.binary("sub", 1, be.binary("mul", h, h)))
                d_in[t] = d_hh[t] = d
                if k or nig[1]:
                    dh = be.matmul(d, w)
        dgi = _stack_raw(be, d_in)
        dgh = dgi if d_hh[0] is d_in[0] else _stack_raw(be, d_hh)
        n, gsz = dgh.shape[1], dgh.shape[2]
        dw = db = None
        if nig[3]:
            hprev = _stack_raw(be, hp)
            dw = be.matmul(be.permute(be.reshape(dgh, (T * n, gsz)), (1, 0)),
                           be.reshape(hprev, (T * n, hprev.shape[2])))
            dw = _wrap(dw, gi)
        if len(nig) > 4 and nig[4]:
            db = _wrap(be.reduce("sum", dgh, (0, 1), False), gi)
        dh0 = _wrap(dh, gi) if nig[1] else None
        dc0 = _wrap(dc, gi) if mode == "LSTM" and nig[2] else None
        return _wrap(dgi, gi), dh0, dc0, dw, db, None, None


def _layer_ops(gi, h0, c0, w_hh, b_hh, mode, reverse):
    """The layer's recurrence in Tensor ops (the create_graph backward replays it)."""
    h, c = h0, c0
    outs = [None] * gi.shape[0]
    for t in _time_steps(gi.shape[0], reverse):
        if mode == "LSTM":
            h, c = _lstm_step(gi[t], h, c, w_hh, b_hh)
        elif mode == "GRU":
            h = _gru_step(gi[t], h, w_hh, b_hh)
        else:
            h = _rnn_step(gi[t], h, w_hh, b_hh, mode == "RNN_RELU")
        outs[t] = h
    return (stack(outs, 0), h, c) if mode == "LSTM" else (stack(outs, 0), h)


def _run_layer(gi, h0, c0, w_hh, b_hh, mode, reverse):
    """One graph node for one layer and direction (see _RecurrentLayer)."""
    return _RecurrentLayer.apply(gi, h0, c0, w_hh, b_hh, mode, reverse)


def _check_dropout(p) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrence shared by RNN, LSTM and GRU."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        _check_dropout(dropout)
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so "
                          f"non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size:
            raise NotImplementedError("LSTM proj_size is not supported in minitorch")
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(dirs):
                in_size = input_size if layer == 0 else hidden_size * dirs
                suffix = "_reverse" if direction == 1 else ""
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(gate_size, in_size), (gate_size, hidden_size)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gate_size,), (gate_size,)]
                for name, shape in zip(names, shapes):
                    setattr(self, name, Parameter(empty(shape, device=device, dtype=dtype)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op (cuDNN weight packing in PyTorch)."""

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    # -- forward -----------------------------------------------------------------------------
    def _layer_weights(self, layer: int, direction: int):
        s = f"_l{layer}{'_reverse' if direction else ''}"
        b_ih = getattr(self, "bias_ih" + s) if self.bias else None
        b_hh = getattr(self, "bias_hh" + s) if self.bias else None
        return getattr(self, "weight_ih" + s), getattr(self, "weight_hh" + s), b_ih, b_hh

    def _run(self, x: Tensor, h0: Tensor, c0: Optional[Tensor], weights, reverse: bool):
        """One direction of one layer over (T, N, F): (outputs (T, N, H), h_T, c_T)."""
        w_ih, w_hh, b_ih, b_hh = weights
        gi = linear(x, w_ih, b_ih)  # every time step's input projection in one matmul
        res = _run_layer(gi, h0, c0, w_hh, b_hh, self.mode, reverse)
        return res if self.mode == "LSTM" else (res[0], res[1], None)

    def _check_hidden(self, h: Tensor, expected: tuple, what: str) -> None:
        if tuple(h.shape) != expected:
            raise RuntimeError(f"Expected {what} size {expected}, got {_shape_str(h.shape)}")

    def forward(self, input: Tensor, hx=None):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            from .utils.rnn import PackedSequence, rnn_forward_packed
            if isinstance(input, PackedSequence):
                return rnn_forward_packed(self, input, hx)
            raise TypeError(f"{name}: expected a Tensor or a PackedSequence as input, got "
                            f"{type(input).__name__}")
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D tensor "
                             f"instead")
        is_lstm = self.mode == "LSTM"
        batched = input.dim() == 3
        states = (hx if is_lstm else (hx,)) if hx is not None else None
        if states is not None:
            if is_lstm and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise RuntimeError("LSTM: hx must be a tuple (h_0, c_0) of two tensors")
            want = 3 if batched else 2
            for s in states:
                if s.dim() != want:
                    raise RuntimeError(f"For {'batched 3' if batched else 'unbatched 2'}-D "
                                       f"input, hx{' and cx' if is_lstm else ''} should also be "
                                       f"{want}-D but got {s.dim()}-D tensor")
        if not batched:
            input = input.unsqueeze(1 if not self.batch_first else 0)
            if states is not None:
                states = tuple(s.unsqueeze(1) for s in states)
        x = input.transpose(0, 1) if self.batch_first else input       # (T, N, F)
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        if x.shape[0] == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        dirs = 2 if self.bidirectional else 1
        expected = (self.num_layers * dirs, x.shape[1], self.hidden_size)
        if states is None:
            z = zeros(expected, dtype=x.dtype, device=x.device)
            states = (z, z) if is_lstm else (z,)
        else:
            for i, s in enumerate(states):
                self._check_hidden(s, expected, f"hidden[{i}]" if is_lstm else "hidden")
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                out, h, c = self._run(x, states[0][k], states[1][k] if is_lstm else None,
                                      self._layer_weights(layer, d), reverse=d == 1)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = cat(outs, 2) if dirs == 2 else outs[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = _dropout(x, self.dropout, True)
        output = x.transpose(0, 1) if self.batch_first else x
        hidden = stack(h_n, 0)
        cell = stack(c_n, 0) if is_lstm else None
        if not batched:
            output = output.squeeze(0 if self.batch_first else 1)
            hidden = hidden.squeeze(1)
            cell = cell.squeeze(1) if is_lstm else None
        return (output, (hidden, cell)) if is_lstm else (output, hidden)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh) (or relu).
    Returns (output (T, N, D*H), h_n (layers*D, N, H)); batch first if ``batch_first``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory.  Returns (output, (h_n, c_n))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit.  Returns (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


# -- cells: one time step, parameters weight_ih, weight_hh, bias_ih, bias_hh -----------------
class RNNCellBase(Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(empty((g, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(empty((g, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(g, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(g, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _prepare(self, input: Tensor, states):
        """Batch the input (and states) if 1-D; zeros for missing states; check sizes."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             f"instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        out = []
        for s in states:
            if s is None:
                s = zeros((x.shape[0], self.hidden_size), dtype=x.dtype, device=x.device)
            else:
                if s.dim() != input.dim():
                    raise RuntimeError(f"{name}: Expected hidden to be "
                                       f"{'2D' if batched else '1D'}, got {s.dim()}D instead")
                s = s if batched else s.unsqueeze(0)
                if tuple(s.shape) != (x.shape[0], self.hidden_size):
                    raise RuntimeError(f"hidden has inconsistent hidden_size: got "
                                       f"{s.shape[-1]}, expected {self.hidden_size}"
                                       if s.shape[-1] != self.hidden_size else
                                       f"Input batch size {x.shape[0]} doesn't match hidden "
                                       f"batch size {s.shape[0]}")
            out.append(s)
        return x, out, batched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        x, (h,), batched = self._prepare(input, (hx,))
        h = _rnn_step(linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh,
                      self.bias_hh, self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; ``hx`` is (h, c) or None.  Returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor,
                hx: Optional[Tuple[Tensor, Tensor]] = None) -> Tuple[Tensor, Tensor]:
        x, (h, c), batched = self._prepare(input, hx if hx is not None else (None, None))
        h, c = _LSTMCellFn.apply(linear(x, self.weight_ih, self.bias_ih),
                                 linear(h, self.weight_hh), self.bias_hh, c)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step.  Returns h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        x, (h,), batched = self._prepare(input, (hx,))
        h = _GRUCellFn.apply(linear(x, self.weight_ih, self.bias_ih),
                             linear(h, self.weight_hh), self.bias_hh, h)
        return h if batched else h.squeeze(0)
