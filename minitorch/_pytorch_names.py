"""PyTorch's parameter names on minitorch's functions, at no per-call cost (issue #19).

``torch.matmul(input=a, other=b)``, ``x.transpose(dim0=0, dim1=1)``, ``torch.exp(input=x)``:
real code passes arguments by PyTorch's names.  Many op functions in ``minitorch/ops`` are
written with short local names (``matmul(a, b)``), and the ``minitorch.*`` functional forms
are the Tensor methods themselves (first parameter ``self``, where PyTorch says ``input``).

Wrapping every op in a renaming function would add a Python frame to every call, so instead
:func:`renamed` makes a copy of the function whose *code object* has the parameters renamed
(``CodeType.replace(co_varnames=...)``).  Local variables are addressed by slot, not by
name, so the body runs unchanged; only the names that keyword binding and ``inspect`` see
differ.  The copy is a plain function: calling it costs exactly what the original costs.

``tests/test_keyword_surface.py`` checks the whole public surface against PyTorch's own
signatures.
"""
from __future__ import annotations

import types

# Tensor methods whose source uses other names than PyTorch's methods (self is bound).
METHOD_NAMES = {
    "matmul": {"a": "self", "b": "other"},
    "mm": {"a": "self", "b": "mat2"},
    "bmm": {"a": "self", "b": "mat2"},
    "mv": {"a": "self", "v": "vec"},
    "dot": {"a": "self", "b": "tensor"},
    "outer": {"a": "self", "b": "vec2"},
    "swapaxes": {"a": "axis0", "b": "axis1"},
    "where": {"cond": "condition"},
    "view_as": {"o": "other"},
    "reshape_as": {"o": "other"},
    "expand_as": {},
    "uniform_": {"b": "to"},  # PyTorch's first name is `from`, a Python keyword
    "normal_": {"a": "mean", "b": "std"},
    "bernoulli_": {"a": "p"},
    "split": {"split_size_or_sections": "split_size"},
    "copy_": {"src": "other"},  # PyTorch documents copy_(src) but binds the name `other`
}

# First parameter of the functional form when it is not PyTorch's usual ``input``.
FUNCTION_FIRST = {"split": "tensor"}

# Functional forms that keep the method's later names but rename more than the first.
FUNCTION_NAMES = {
    "split": {"split_size": "split_size_or_sections"},
    "promote_types": {"a": "type1", "b": "type2"},
}


def renamed(fn, mapping: dict, name: str | None = None):
    """A copy of plain function ``fn`` with parameters renamed per ``mapping`` (old -> new).

    Refuses (ValueError) when a new name is already a name in the body: the rename must not
    change what the body reads."""
    code = fn.__code__
    nargs = (code.co_argcount + code.co_kwonlyargcount
             + bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08))
    args = code.co_varnames[:nargs]
    mapping = {old: new for old, new in mapping.items() if old in args and old != new}
    if not mapping:
        return fn
    taken = set(code.co_varnames) | set(code.co_cellvars) | set(code.co_freevars)
    for old, new in mapping.items():
        if new in taken:
            raise ValueError(f"cannot rename {fn.__qualname__}'s {old!r} to {new!r}: "
                             f"the name is used in the body")
    varnames = tuple(mapping.get(n, n) if i < nargs else n
                     for i, n in enumerate(code.co_varnames))
    cellvars = tuple(mapping.get(n, n) for n in code.co_cellvars)
    new_code = code.replace(co_varnames=varnames, co_cellvars=cellvars)
    out = types.FunctionType(new_code, fn.__globals__, name or fn.__name__, fn.__defaults__,
                             fn.__closure__)
    if fn.__kwdefaults__:
        out.__kwdefaults__ = {mapping.get(k, k): v for k, v in fn.__kwdefaults__.items()}
    out.__annotations__ = {mapping.get(k, k): v for k, v in fn.__annotations__.items()}
    out.__doc__ = fn.__doc__
    out.__module__ = fn.__module__
    out.__qualname__ = fn.__qualname__
    out.__dict__.update(fn.__dict__)
    return out


def apply_method_names(Tensor) -> None:
    """Rename the parameters of Tensor methods listed in METHOD_NAMES (called by install)."""
    for name, mapping in METHOD_NAMES.items():
        fn = getattr(Tensor, name, None)
        if isinstance(fn, types.FunctionType):
            setattr(Tensor, name, renamed(fn, mapping))


def function_form(name: str, method):
    """``minitorch.<name>``: the Tensor method with its first parameter called ``input``."""
    if not isinstance(method, types.FunctionType):
        return method
    code = method.__code__
    if not code.co_argcount:
        return method
    mapping = {code.co_varnames[0]: FUNCTION_FIRST.get(name, "input")}
    mapping.update(FUNCTION_NAMES.get(name, {}))
    return renamed(method, mapping)
