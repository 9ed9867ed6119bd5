"""``nn.utils.rnn``: variable-length batches for the recurrent layers, as in PyTorch.

A ``PackedSequence`` holds the time steps of a batch of sequences sorted by decreasing
length, step after step: ``data`` is ``(sum(lengths), *)`` and ``batch_sizes[t]`` says how
many sequences are still running at step ``t``.  ``pack_padded_sequence`` /
``pad_packed_sequence`` convert from / to a padded tensor, ``pad_sequence`` /
``pack_sequence`` start from a list of tensors.  Everything is Tensor indexing and ``cat``,
so gradients flow through packing and unpacking.

``nn.RNN/LSTM/GRU`` accept a ``PackedSequence``: the sequences of equal length are run as
one ordinary (padded-free) batch each, longest group first, so every sequence stops at its
own last step (the final hidden state is that step's, the reverse direction of a
bidirectional layer starts there) -- the same numbers as cuDNN's packed kernels, at one
layer call per distinct length.
"""
from __future__ import annotations

from typing import List, NamedTuple, Optional, Sequence, Union

from ...creation import tensor as _tensor
from ...ops.shape import cat, stack
from ...tensor import Tensor
from ... import _dtype as D

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence"]


class PackedSequence(NamedTuple):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``; build it with
    ``pack_padded_sequence`` or ``pack_sequence``."""
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Optional[Tensor] = None
    unsorted_indices: Optional[Tensor] = None

    def to(self, *args, **kwargs) -> "PackedSequence":
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        dev = data.device
        idx = [None if i is None else i.to(dev) for i in (self.sorted_indices,
                                                           self.unsorted_indices)]
        return type(self)(data, self.batch_sizes, idx[0], idx[1])

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def _lengths_list(lengths) -> List[int]:
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1:
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{lengths.dim()}D {lengths.device.type} "
                               f"{lengths.dtype.pt_name.split('.')[-1]} tensor")
        return [int(v) for v in lengths.tolist()]
    return [int(v) for v in lengths]


def _invert_permutation(perm: Optional[Tensor]) -> Optional[Tensor]:
    if perm is None:
        return None
    inv = [0] * perm.numel()
    for i, p in enumerate(perm.tolist()):
        inv[p] = i
    return _tensor(inv, dtype=D.int64, device=perm.device)


def pack_padded_sequence(input: Tensor, lengths: Union[Tensor, List[int]],
                         batch_first: bool = False, enforce_sorted: bool = True
                         ) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) whose
    sequence ``b`` has ``lengths[b]`` valid steps."""
    lens = _lengths_list(lengths)
    if enforce_sorted:
        if any(a < b for a, b in zip(lens, lens[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        order = list(range(len(lens)))
        sorted_indices = None
    else:
        order = sorted(range(len(lens)), key=lambda b: -lens[b])  # stable, as PyTorch's cpu sort
        sorted_indices = _tensor(order, dtype=D.int64, device=input.device)
    x = input.transpose(0, 1) if batch_first else input  # (T, B, *)
    if len(lens) != x.shape[1]:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lens)} (batch_size={x.shape[1]})")
    slens = [lens[b] for b in order]
    if slens and slens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if slens and slens[0] > x.shape[0]:
        raise RuntimeError(f"Expected sequence length to be at most {x.shape[0]}, got "
                           f"{slens[0]}")
    if sorted_indices is not None:
        x = x.index_select(1, sorted_indices)
    batch_sizes = [sum(1 for l in slens if l > t) for t in range(slens[0] if slens else 0)]
    data = cat([x[t, :n] for t, n in enumerate(batch_sizes)], 0)
    return PackedSequence(data, _tensor(batch_sizes, dtype=D.int64), sorted_indices,
                          _invert_permutation(sorted_indices))


def _padded_sorted(sequence: PackedSequence, padding_value: float, total_length=None):
    """(T, B, *) padded batch in *sorted* order and the sorted lengths."""
    data, bs = sequence.data, [int(v) for v in sequence.batch_sizes.tolist()]
    T, B = len(bs), bs[0] if bs else 0
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {T}")
    steps, off = [], 0
    tail = tuple(data.shape[1:])
    for n in bs:
        step = data[off:off + n]
        if n < B:
            step = cat([step, data.new_full((B - n,) + tail, padding_value)], 0)
        steps.append(step)
        off += n
    for _ in range(T, total_length or T):
        steps.append(data.new_full((B,) + tail, padding_value))
    lengths = [sum(1 for n in bs if n > b) for b in range(B)]
    return stack(steps, 0), lengths


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: Optional[int] = None):
    """Inverse of ``pack_padded_sequence``: ``(padded, lengths)`` in the original batch
    order, ``lengths`` a cpu int64 tensor."""
    padded, lengths = _padded_sorted(sequence, padding_value, total_length)
    lengths_t = _tensor(lengths, dtype=D.int64)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths_t = lengths_t[sequence.unsorted_indices.cpu()]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, lengths_t


def pad_sequence(sequences: Union[Tensor, Sequence[Tensor]], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes ``(L_i, *)`` into ``(max L, B, *)`` (``(B, max L, *)`` with
    ``batch_first``), padding with ``padding_value`` on ``padding_side``."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    seqs = list(sequences.unbind(0) if isinstance(sequences, Tensor) else sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    T = max(s.shape[0] for s in seqs)
    rows = []
    for s in seqs:
        pad = T - s.shape[0]
        if pad:
            fill = s.new_full((pad,) + tuple(s.shape[1:]), padding_value)
            s = cat([s, fill], 0) if padding_side == "right" else cat([fill, s], 0)
        rows.append(s)
    return stack(rows, 0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor,
                   batch_first: bool = False) -> List[Tensor]:
    """The list of unpadded sequences of a padded batch."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[b, :n] for b, n in enumerate(_lengths_list(lengths))]


def unpack_sequence(packed_sequences: PackedSequence) -> List[Tensor]:
    """The list of sequences of a PackedSequence, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def rnn_forward_packed(module, packed: PackedSequence, hx=None):
    """``RNNBase.forward`` on a PackedSequence: one ordinary call per group of equal-length
    sequences (sorted order), outputs re-packed, final states back in the caller's order."""
    is_lstm = module.mode == "LSTM"
    padded, lengths = _padded_sorted(packed, 0.0)  # (T, B, F) sorted by decreasing length
    T, B = padded.shape[0], padded.shape[1]
    states = None
    if hx is not None:
        states = tuple(hx) if is_lstm else (hx,)
        if packed.sorted_indices is not None:  # the caller's order -> sorted order
            states = tuple(s.index_select(1, packed.sorted_indices) for s in states)
    outs, hs, cs = [], [], []
    start = 0
    while start < B:
        n = lengths[start]
        stop = start
        while stop < B and lengths[stop] == n:
            stop += 1
        x = padded[:n, start:stop]
        h0 = None
        if states is not None:
            h0 = tuple(s[:, start:stop] for s in states)
            h0 = h0 if is_lstm else h0[0]
        out, h = module.forward(x.transpose(0, 1) if module.batch_first else x, h0)
        if module.batch_first:
            out = out.transpose(0, 1)
        if n < T:
            out = cat([out, out.new_zeros((T - n,) + tuple(out.shape[1:]))], 0)
        outs.append(out)
        if is_lstm:
            hs.append(h[0])
            cs.append(h[1])
        else:
            hs.append(h)
        start = stop
    out = cat(outs, 1) if len(outs) > 1 else outs[0]
    bs = [int(v) for v in packed.batch_sizes.tolist()]
    data = cat([out[t, :n] for t, n in enumerate(bs)], 0)
    h_n = cat(hs, 1) if len(hs) > 1 else hs[0]
    c_n = (cat(cs, 1) if len(cs) > 1 else cs[0]) if is_lstm else None
    if packed.unsorted_indices is not None:  # back to the caller's order
        h_n = h_n.index_select(1, packed.unsorted_indices)
        c_n = c_n.index_select(1, packed.unsorted_indices) if is_lstm else None
    result = PackedSequence(data, packed.batch_sizes, packed.sorted_indices,
                            packed.unsorted_indices)
    return (result, (h_n, c_n)) if is_lstm else (result, h_n)

