"""``torch.einsum`` and ``torch.trace``, composed from Tensor ops.

Each operand first loses what only it needs: a repeated letter becomes a ``diagonal``, a
letter no one else uses (and the output does not keep) is summed.  Operands then fold left to
right, two at a time, as one batched ``matmul``: the letters both share and the rest of the
expression still needs are the batch, the letters only this pair still needs are contracted,
the others stay on their side.  A final ``permute`` gives the output order.  Gradients come
from the ops used.
"""
from __future__ import annotations

from ..tensor import Tensor

_ELL = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # letters standing for the dims under '...'


def _parse(equation: str, operands):
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum(): more operands were provided than specified in the "
                         f"equation" if len(operands) > len(terms) else
                         "einsum(): fewer operands were provided than specified in the equation")
    n_ell = 0
    for t, op in zip(terms, operands):
        if "..." in t:
            n_ell = max(n_ell, op.dim() - (len(t) - 3))
    ell = _ELL[len(_ELL) - n_ell:] if n_ell else ""
    subs = []
    for t, op in zip(terms, operands):
        if "..." in t:
            k = op.dim() - (len(t) - 3)
            t = t.replace("...", ell[len(ell) - k:] if k else "")
        if len(t) != op.dim():
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(t)}) "
                               f"does not match the number of dimensions ({op.dim()}) for "
                               f"operand {len(subs)}{'' if '...' in lhs else ' and no ellipsis was given'}")
        for c in t:
            if not c.isalpha():
                raise RuntimeError(f"einsum(): invalid subscript given at index "
                                   f"{eq.index(c)} in the equation string, subscripts must be "
                                   f"in [a-zA-Z]")
        subs.append(t)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {}
        for t in subs:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return subs, out


def _reduce_alone(x: Tensor, s: str, keep: set, squeeze_ones: bool = False):
    """Take diagonals of repeated letters, sum letters not in ``keep`` (with
    ``squeeze_ones``, a size-1 letter is squeezed instead: no sum, so no int64 promotion,
    as PyTorch does for the operands of a product)."""
    while True:
        rep = next((c for c in s if s.count(c) > 1), None)
        if rep is None:
            break
        i = s.index(rep)
        j = s.index(rep, i + 1)
        x = x.diagonal(0, i, j)  # the diagonal becomes the last dim
        s = s[:i] + s[i + 1:j] + s[j + 1:] + rep
    drop = [k for k, c in enumerate(s) if c not in keep]
    if squeeze_ones and any(x.shape[k] == 1 for k in drop):
        ones = [k for k in drop if x.shape[k] == 1]
        x = x.squeeze(tuple(ones))
        s = "".join(c for k, c in enumerate(s) if k not in ones)
        drop = [k for k, c in enumerate(s) if c not in keep]
    if drop:
        x = x.sum(dim=tuple(drop))
        s = "".join(c for c in s if c in keep)
    return x, s


def _contract(a: Tensor, sa: str, b: Tensor, sb: str, keep: set):
    # A contracted letter of size 1 on one side needs no product: as PyTorch does, the other
    # side is summed over it (size 1 on both: both squeezed).  With no contracted letter
    # left, the pair is a broadcast ``mul`` (so operands of two dtypes promote); otherwise a
    # batched matmul, which needs one dtype (PyTorch's bmm/dot raise the same way).
    for c in [c for c in sa if c in sb and c not in keep]:
        i, j = sa.index(c), sb.index(c)
        if a.shape[i] == 1 and b.shape[j] == 1:
            a, b = a.squeeze(i), b.squeeze(j)
        elif a.shape[i] == 1:
            a, b = a.squeeze(i), b.sum(j)
        elif b.shape[j] == 1:
            a, b = a.sum(i), b.squeeze(j)
        else:
            continue
        sa, sb = sa.replace(c, ""), sb.replace(c, "")
    if not any(c in sb and c not in keep for c in sa):
        batch = [c for c in sa if c in sb]
        left = [c for c in sa if c not in sb]
        right = [c for c in sb if c not in sa]
        a = a.permute(*[sa.index(c) for c in batch + left]) if sa else a
        b = b.permute(*[sb.index(c) for c in batch + right]) if sb else b
        a = a.reshape(*a.shape, *[1] * len(right))
        b = b.reshape(*b.shape[:len(batch)], *[1] * len(left), *b.shape[len(batch):])
        return a.mul(b), "".join(batch + left + right)
    batch = [c for c in sa if c in sb and c in keep]
    contr = [c for c in sa if c in sb and c not in keep]
    left = [c for c in sa if c not in sb]
    right = [c for c in sb if c not in sa]
    size = {}
    for x, s in ((a, sa), (b, sb)):
        for c, n in zip(s, x.shape):
            if size.get(c, n) != n and n != 1 and size[c] != 1:
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes "
                                   f"(original->remapped): subscript {c} has sizes "
                                   f"{size[c]} and {n}")
            size[c] = n if size.get(c, 1) == 1 else size[c]
    a = a.permute(*[sa.index(c) for c in batch + left + contr])
    b = b.permute(*[sb.index(c) for c in batch + contr + right])
    nb = [size[c] for c in batch]
    a = a.expand(*[size[c] for c in batch + left + contr])  # size-1 dims broadcast
    b = b.expand(*[size[c] for c in batch + contr + right])
    L = 1
    for c in left:
        L *= size[c]
    K = 1
    for c in contr:
        K *= size[c]
    R = 1
    for c in right:
        R *= size[c]
    # always a batched matmul, as PyTorch's bmm: its dtype rules (one dtype, Bool refused,
    # an empty product takes the second operand's dtype) are the einsum's
    a = a.reshape(*(nb or [1]), L, K)
    b = b.reshape(*(nb or [1]), K, R)
    r = a.matmul(b).reshape(*nb, *[size[c] for c in left], *[size[c] for c in right])
    return r, "".join(batch + left + right)


def einsum(equation: str, *operands) -> Tensor:
    """Sum of products over the letters of ``equation`` (``"bij,bjk->bik"``), as
    ``torch.einsum``; ``...`` stands for broadcast dims, ``->`` may be omitted."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    subs, out = _parse(equation, operands)
    xs = list(operands)
    for k, (x, s) in enumerate(zip(xs, subs)):  # a repeated letter: one size (a diagonal)
        for c in set(s):
            sizes = [x.shape[p] for p, ch in enumerate(s) if ch == c]
            if len(set(sizes)) > 1:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but "
                                   f"the sizes don't match, {sizes[1]} != {sizes[0]}")
    for i, (x, s) in enumerate(zip(xs, subs)):
        others = set(out).union(*[set(t) for j, t in enumerate(subs) if j != i])
        xs[i], subs[i] = _reduce_alone(x, s, others, squeeze_ones=len(xs) > 1)
    x, s = xs[0], subs[0]
    for i in range(1, len(xs)):
        keep = set(out).union(*[set(t) for t in subs[i + 1:]])
        x, s = _contract(x, s, xs[i], subs[i], keep)
    x, s = _reduce_alone(x, s, set(out))
    if s != out:
        x = x.permute(*[s.index(c) for c in out])
    return x


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a 2-D tensor."""
    if input.dtype.name == "bool":  # (PyTorch's dtype dispatch comes before the dim check)
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    if input.dim() != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.dim()}")
    return input.diagonal().sum()
