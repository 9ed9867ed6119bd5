"""PyTorch-style ``repr`` of tensors: ``tensor([1.0000, 2.5000], requires_grad=True)``."""
from __future__ import annotations

import numpy as np

PRINT_OPTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    for k, v in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                 ("linewidth", linewidth)):
        if v is not None:
            PRINT_OPTS[k] = v


def _float_formatter(a: np.ndarray):
    p = PRINT_OPTS["precision"]
    finite = a[np.isfinite(a)]
    nonzero = np.abs(finite[finite != 0]) if finite.size else finite
    if finite.size == 0:
        fmt = "{:.0f}"
    elif np.all(finite == np.round(finite)) and (nonzero.size == 0 or nonzero.max() < 1e8):
        fmt = "{:.0f}."
    elif nonzero.size and (nonzero.max() > 1000 * nonzero.min() or nonzero.max() > 1e8
                           or nonzero.min() < 1e-4):
        fmt = "{:." + str(p) + "e}"
    else:
        fmt = "{:." + str(p) + "f}"

    def f(x):
        if np.isnan(x):
            return "nan"
        if np.isinf(x):
            return "inf" if x > 0 else "-inf"
        return fmt.format(x)
    # PyTorch's _Formatter: the column width comes from the nonzero finite values only
    # (tensor([0., -inf]) keeps "0." unpadded); the others are right-justified to it
    vals = a.ravel()
    vals = vals[np.isfinite(vals) & (vals != 0)]
    if vals.size > 2000:
        vals = np.concatenate([vals[:1000], vals[-1000:]])
    width = max((len(fmt.format(x)) for x in vals), default=1)
    return lambda x: f(x).rjust(width)


def tensor_repr(t) -> str:
    a = np.asarray(t._device._be.to_numpy(t._data))
    if a.dtype.itemsize == 2 and a.dtype.kind in "fV":  # float16/bfloat16: print their values
        a = a.astype(np.float32)                        # as float32 (exact), as PyTorch does
    prefix = "tensor("
    if a.size == 0:
        body = "[]"
    else:
        kw = dict(separator=", ", prefix=prefix, threshold=PRINT_OPTS["threshold"],
                  edgeitems=PRINT_OPTS["edgeitems"],
                  # PyTorch fits floor((linewidth - 6 - ndim) / (width + 2)) elements on a
                  # line; NumPy reserves one more column per nesting level for the brackets
                  max_line_width=PRINT_OPTS["linewidth"] + max(a.ndim - 1, 0))
        if a.dtype.kind in "fV":
            kw["formatter"] = {"float_kind": _float_formatter(a)}
        elif a.dtype.kind == "b":
            kw["formatter"] = {"bool": lambda x: str(bool(x)).rjust(5 if not a.all() and a.any()
                                                                  else 0)}
        if a.ndim == 0:
            body = kw["formatter"]["float_kind"](a.item()).strip() if a.dtype.kind in "fV" \
                else str(a.item())
        else:
            body = np.array2string(a, **kw)
    suffix = []
    if a.size == 0 and a.shape != (0,):
        suffix.append(f"size={tuple(a.shape)}")
    if t._device.type != "cpu":
        suffix.append(f"device='{t._device}'")
    default = {"f": "float32", "i": "int64", "b": "bool"}.get(a.dtype.kind)
    if t.dtype.name != default or (a.size == 0 and a.dtype.kind not in "fV"):
        suffix.append(f"dtype={t.dtype!r}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffix.append("requires_grad=True")
    # PyTorch's _add_suffixes: a suffix that would pass the line width starts a new line,
    # indented under the opening bracket (its line-length count, +1 quirk included).  The
    # length counted is PyTorch's spelling (dtype=torch.float16), so that a line breaks
    # where PyTorch's would, whatever the library's name.
    out = prefix + body
    last = len(out) - out.rfind("\n") + 1
    indent = len(prefix)
    for s in suffix:
        n = len(s.replace("minitorch.", "torch."))
        if last + n + 2 > PRINT_OPTS["linewidth"]:
            out += ",\n" + " " * indent + s
            last = indent + n
        else:
            out += ", " + s
            last += n + 2
    return out + ")"
