"""``torch.return_types``: the named tuples of ops that return (values, indices).

``x.max(dim=1)`` returns ``return_types.max(values, indices)``: a tuple (unpacks, indexes)
with named fields, printed the way PyTorch prints it::

    minitorch.return_types.max(
    values=tensor([...]),
    indices=tensor([...]))
"""
from __future__ import annotations

from collections import namedtuple

__all__ = ["max", "min", "sort", "topk", "kthvalue", "median", "mode", "aminmax", "cummax",
           "cummin"]


def _structseq(name: str, fields=("values", "indices")):
    base = namedtuple(name, fields)

    def __repr__(self) -> str:
        body = ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"minitorch.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                               "__module__": __name__,
                               "__doc__": f"The result of ``{name}``: {', '.join(fields)}."})
    return cls


max = _structseq("max")  # noqa: A001
min = _structseq("min")  # noqa: A001
sort = _structseq("sort")
topk = _structseq("topk")
kthvalue = _structseq("kthvalue")
median = _structseq("median")
mode = _structseq("mode")
aminmax = _structseq("aminmax", ("min", "max"))
cummax = _structseq("cummax")
cummin = _structseq("cummin")
