"""``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``: context managers
that are also decorators, switching whether ``Function.apply`` records graph nodes."""
from __future__ import annotations

import functools

from .function import _state

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled"]


def is_grad_enabled() -> bool:
    return _state.grad


def _decorate(fn, target: bool):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        prev = _state.grad
        _state.grad = target
        try:
            return fn(*args, **kwargs)
        finally:
            _state.grad = prev
    return wrapper


class _GradMode:
    _target = True

    def __new__(cls, *args, **kwargs):
        # bare decorator use: @no_grad, @enable_grad, @inference_mode (without parentheses)
        if cls in (no_grad, enable_grad, inference_mode) and len(args) == 1 \
                and callable(args[0]) and not kwargs:
            return _decorate(args[0], cls._target)
        return super().__new__(cls)

    def __init__(self, *args):
        self._prev = []

    def __enter__(self):
        self._prev.append(_state.grad)
        _state.grad = self._target
        return self

    def __exit__(self, *exc):
        _state.grad = self._prev.pop()
        return False

    def __call__(self, fn):
        return _decorate(fn, self._target)


class no_grad(_GradMode):
    """Disable gradient recording inside the block (or the decorated function)."""
    _target = False


class enable_grad(_GradMode):
    """Enable gradient recording inside the block, e.g. within a ``no_grad`` region."""
    _target = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` works as a call, a context manager and a decorator."""

    def __init__(self, mode: bool):
        super().__init__()
        self._target = bool(mode)
        self._before = _state.grad
        _state.grad = self._target  # takes effect as a plain function call too

    def __enter__(self):
        self._prev.append(self._before)
        _state.grad = self._target
        return self

    def __call__(self, fn):
        _state.grad = self._before  # used as a decorator: undo the eager switch
        return _decorate(fn, self._target)


class inference_mode(_GradMode):
    """Like ``no_grad`` (minitorch has no separate inference tensors)."""
    _target = False  # the bare decorator form (@inference_mode) reads the class default

    def __init__(self, mode: bool = True):
        super().__init__()
        self._target = not mode
