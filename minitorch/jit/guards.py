"""Guards: the conditions under which a captured graph may be reused, as data.

A guard set is a list of ``Guard(what, expected, read)``: ``read(args, kwargs)`` computes the
current value and the guard holds when it equals ``expected``.  When one fails, ``reason``
says which, in words a user can act on (``argument 0 size mismatch at dim 0: expected 64,
got 32``), the way TorchDynamo's guard failure reasons do.  Checked in order, cheapest first.

What is guarded: the pytree structure of the arguments and every Python value in it; each
tensor argument's shape, dtype, device and requires_grad; grad mode; the identity of each
Module / Optimizer / Tensor the function reaches through its closure and globals; every
state tensor's shape, dtype, device and requires_grad, and whether its ``.grad`` exists (with
its shape); each module's ``training`` flag; each optimizer's hyper-parameters
(``param_groups``) and the keys of its per-parameter state.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional

from ..autograd.function import _state
from ..tensor import Tensor
from .capture import flatten

__all__ = ["Guard", "build_guards", "first_failure"]


class Guard:
    __slots__ = ("what", "expected", "read", "describe")

    def __init__(self, what: str, expected: Any, read: Callable, describe: Callable = None):
        self.what, self.expected, self.read = what, expected, read
        self.describe = describe

    def reason(self, got) -> str:
        if self.describe is not None:
            return self.describe(self.expected, got)
        return f"{self.what}: expected {self.expected!r}, got {got!r}"

    def __repr__(self) -> str:
        return f"Guard({self.what} == {self.expected!r})"


def _tensor_meta(t: Tensor) -> tuple:
    return (tuple(t._data.shape), str(t.dtype).replace("minitorch.", ""), str(t._device),
            bool(t._requires_grad))


def _describe_tensor(label: str):
    def d(exp, got):
        if got is None:
            return f"{label} is no longer a tensor"
        (es, edt, edev, erg), (gs, gdt, gdev, grg) = exp, got
        if es != gs:
            if len(es) != len(gs):
                return (f"{label} dimension mismatch: expected {len(es)} dims {list(es)}, got "
                        f"{len(gs)} dims {list(gs)}")
            dim = next(i for i, (a, b) in enumerate(zip(es, gs)) if a != b)
            return f"{label} size mismatch at dim {dim}: expected {es[dim]}, got {gs[dim]}"
        if edt != gdt:
            return f"{label} dtype mismatch: expected {edt}, got {gdt}"
        if edev != gdev:
            return f"{label} device mismatch: expected {edev}, got {gdev}"
        return f"{label} requires_grad mismatch: expected {erg}, got {grg}"
    return d


def _structure(spec) -> Any:
    """The argument structure with tensors as placeholders and Python values kept."""
    return spec


def _arg_label(i: int, names: List[str]) -> str:
    return f"argument {i}" + (f" ({names[i]})" if i < len(names) and names[i] else "")


def build_guards(fn, args, kwargs, found: dict, arg_names: List[str]) -> List[Guard]:
    from ..nn.module import Module
    from ..optim.optimizer import Optimizer
    guards: List[Guard] = []
    leaves, spec = flatten((tuple(args), dict(kwargs)))
    guards.append(Guard("argument structure and Python values", spec,
                        lambda a, k: flatten((tuple(a), dict(k)))[1],
                        lambda e, g: _describe_structure(e, g)))

    def leaf(i):
        return lambda a, k: _tensor_meta(flatten((tuple(a), dict(k)))[0][i])
    for i, t in enumerate(leaves):
        guards.append(Guard(f"tensor argument {i}", _tensor_meta(t), leaf(i),
                            _describe_tensor(_arg_label(i, arg_names) if i < len(args)
                                             else f"tensor argument {i}")))
    mode = bool(_state.grad)
    guards.append(Guard("grad mode", mode, lambda a, k: bool(_state.grad),
                        lambda e, g: f"grad mode changed: expected "
                                     f"{'enabled' if e else 'disabled'}, got "
                                     f"{'enabled' if g else 'disabled'}"))
    for name, obj in found.items():
        read = _resolver(fn, name)
        if read is not None:
            guards.append(_identity_guard(name, obj, read))
    for name, obj in found.items():
        if isinstance(obj, Module):
            for mname, m in obj.named_modules(prefix=name):
                guards.append(Guard(f"{mname}.training", bool(m.training),
                                    (lambda m: lambda a, k: bool(m.training))(m),
                                    (lambda n: lambda e, g: f"{n}.training changed: expected "
                                                            f"{e}, got {g}")(mname)))
        elif isinstance(obj, Optimizer):
            guards.append(Guard(f"{name} hyper-parameters", _hyper(obj),
                                (lambda o: lambda a, k: _hyper(o))(obj),
                                (lambda n: lambda e, g: _describe_hyper(n, e, g))(name)))
            guards.append(Guard(f"{name} state keys", _state_keys(obj),
                                (lambda o: lambda a, k: _state_keys(o))(obj),
                                (lambda n: lambda e, g: f"{n}.state changed (the optimizer "
                                                        f"created or dropped per-parameter "
                                                        f"state)")(name)))
    return guards


def state_guards(slots) -> List[Guard]:
    """Shape/dtype/device/requires_grad of each state tensor and whether its .grad exists."""
    out: List[Guard] = []
    for s in slots:
        t = s.tensor
        if s.kind == "data":
            out.append(Guard(s.name, _tensor_meta(t), (lambda t: lambda a, k: _tensor_meta(t))(t),
                             _describe_tensor(f"state {s.name}")))
        else:
            out.append(Guard(s.name, _grad_meta(t), (lambda t: lambda a, k: _grad_meta(t))(t),
                             (lambda n: lambda e, g: f"{n}: expected "
                                                     f"{'None' if e is None else 'a tensor ' + str(list(e[0]))}"
                                                     f", got "
                                                     f"{'None' if g is None else 'a tensor ' + str(list(g[0]))}")(s.name)))
    return out


def _grad_meta(t: Tensor) -> Optional[tuple]:
    g = t._grad
    return None if g is None else (tuple(g._data.shape), str(g._data.dtype))


def _identity_guard(name: str, obj, read) -> Guard:
    return Guard(f"{name} identity", id(obj), lambda a, k: id(read(a, k)),
                 lambda e, g: f"'{name}' is a different object now")


def _resolver(fn, name: str):
    """``read(args, kwargs)`` of a found object: ``argN``, ``self``, a closure variable or a
    global, then at most one attribute (``self.k``, ``arg0.model``)."""
    root, _, attr = name.partition(".")
    if root.startswith("arg") and root[3:].isdigit():
        i = int(root[3:])

        def base(a, k):
            return a[i] if i < len(a) else None
    elif root == "self":
        owner = getattr(fn, "__self__", None)
        if owner is None:
            return None

        def base(a, k):
            return owner
    else:
        r = _lookup(fn, root)
        if r is None:
            return None

        def base(a, k):
            return r()
    if attr:
        return lambda a, k: getattr(base(a, k), attr, None)
    return base


def _lookup(fn, name: str):
    """A reader of the closure cell or global ``name`` of ``fn`` (None if it is neither)."""
    target = getattr(getattr(fn, "forward", fn), "__func__", fn)
    code = getattr(target, "__code__", None)
    if code is None:
        return None
    if name in code.co_freevars and target.__closure__:
        cell = target.__closure__[code.co_freevars.index(name)]
        return lambda: cell.cell_contents
    g = getattr(target, "__globals__", None)
    if g is not None and name in g:
        return lambda: g.get(name)
    return None


def _hyper(opt) -> tuple:
    return tuple(tuple(sorted((k, _freeze(v)) for k, v in g.items() if k != "params"))
                 for g in opt.param_groups)


def _freeze(v):
    if isinstance(v, Tensor):
        return ("tensor", tuple(v.shape), float(v._data) if v._data.size == 1 else id(v))
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v


def _describe_hyper(name: str, e, g) -> str:
    for gi, (eg, gg) in enumerate(zip(e, g)):
        ed, gd = dict(eg), dict(gg)
        for k in ed:
            if ed[k] != gd.get(k):
                return (f"{name}.param_groups[{gi}]['{k}'] changed: expected {ed[k]!r}, got "
                        f"{gd.get(k)!r}")
    return f"{name}.param_groups changed (now {len(g)} groups, was {len(e)})"


def _state_keys(opt) -> tuple:
    return tuple(sorted((id(p), tuple(sorted(st))) for p, st in opt.state.items()))


def _describe_structure(e, g) -> str:
    return (f"argument structure or Python values changed: expected {_short(e)}, got "
            f"{_short(g)}")


def _short(spec) -> str:
    s = repr(_strip(spec))
    return s if len(s) < 120 else s[:117] + "..."


def _strip(s):
    if s == ("T",):
        return "Tensor"
    if isinstance(s, tuple) and s and s[0] == "C":
        return s[1]
    if isinstance(s, tuple) and s and s[0] in ("tuple", "list"):
        return tuple(_strip(x) for x in s[1])
    if isinstance(s, tuple) and s and s[0] == "dict":
        return {k: _strip(v) for k, v in s[1]}
    return s


def first_failure(guards: List[Guard], args, kwargs) -> Optional[str]:
    """The reason of the first guard that fails, or None when all hold."""
    for gd in guards:
        try:
            got = gd.read(args, kwargs)
        except Exception as e:  # noqa: BLE001 - a read that fails is a miss, with its words
            return f"{gd.what}: {type(e).__name__}: {e}"
        if got != gd.expected:
            return gd.reason(got)
    return None
