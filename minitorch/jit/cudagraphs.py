"""CUDA graphs for compiled graphs: ``minitorch.compile(fn, mode="reduce-overhead")``.

A compiled training step still pays Python for every kernel it launches: the interpreter
walks the node list, each primitive checks its arguments, picks a kernel, packs the launch.
A CUDA graph removes all of it: the launches of one step are *captured* once (CuPy stream
capture into a ``cupy.cuda.Graph``) and each later call *replays* them with one
``cudaGraphLaunch``.  On ``cudasim`` the same code path records the launch list through the
runtime (``Runtime.begin_capture/end_capture``, backends/runtime/) and replays it, so all of
this is tested without a GPU.

What a graph holds is fixed at capture: kernels, launch shapes, *addresses* and scalar
arguments.  So:

* **Static buffers.**  Every array of the capture stays alive and is reused by every replay.
  Tensor arguments are copied into static input buffers on each call (one device copy each);
  state (parameters, optimizer buffers) is used where it lives, since the graph updates it in
  place; an output is a static buffer that the next replay overwrites -- reading an output
  of an earlier call raises ``RuntimeError`` ("accessing tensor output of CUDAGraphs that has
  been overwritten by a subsequent run"); ``.clone()`` it to keep it.
* **Host work stays outside.**  Nodes whose work or arguments change on the host from call
  to call run eagerly between captured *segments*: validation checks (they read values),
  optimizer step counters and the updates that take the step count as a scalar (Adam's bias
  correction), random draws (the generator's Philox offset is a scalar that advances on the
  host), host<->device copies, nodes on ``cpu``.  Everything else -- forward, backward, fused
  kernels, SGD updates -- is captured.  PyTorch's CUDA graph trees make the same split with
  graph breaks and skip reasons; ``explain()`` lists the segments and why each gap is there.
* **Capture can fail.**  A synchronize, a host read-back or upload, or any error inside a
  capture ends it (``CaptureError`` with the reason); that call finishes on the interpreter,
  the graph runs on the interpreter from then on, and one warning says why (also in
  ``explain()``).

Calls: the first hit of a graph is a warm-up on the interpreter (kernels compiled, layout
metadata cached: neither can happen inside a capture on a GPU), the second captures (and
replays once for its results), the rest replay.  On ``cpu`` there is nothing to capture and
the mode behaves like "default" (PyTorch also runs CUDA graphs on CUDA devices only).
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional

from ..device import canonical
from ..tensor import Tensor
from .capture import build_output
from .graph import RANDOM, Graph, Ref, Sym
from .interpreter import bind_inputs, execute, write_back

__all__ = ["CudaGraphRunner", "plan", "STALE_MESSAGE"]

# primitives that move data between the host and a device, or compute on the host
_HOST_OPS = {"to_numpy", "from_numpy", "asarray"}

STALE_MESSAGE = (
    "Error: accessing tensor output of CUDAGraphs that has been overwritten by a subsequent "
    "run. This tensor is an output of replay {made} of the CUDA graph of {name!r} "
    "(minitorch.compile(mode='reduce-overhead')); its static buffer has been overwritten by "
    "replay {now}. To keep an output across calls, .clone() it before calling the function "
    "again.")


# -- outputs that a later replay overwrites ----------------------------------------------------

_DATA = Tensor.__dict__["_data"]   # the slot of the base class
_X = Tensor.__dict__["_x"]


class _CudaGraphOutput(Tensor):
    """A Tensor whose ``_data`` is a static output buffer of a captured graph: reading it
    checks that no replay has overwritten it since (one comparison; plain Tensors are not
    touched).  Assigning new data makes it a plain Tensor again."""
    __slots__ = ()

    @property
    def _data(self):
        runner, gen = _X.__get__(self)["cudagraph"]
        if runner.gen != gen:
            raise RuntimeError(STALE_MESSAGE.format(made=gen, now=runner.gen,
                                                    name=runner.name))
        return _DATA.__get__(self)

    @_data.setter
    def _data(self, value):
        _DATA.__set__(self, value)
        x = _X.__get__(self)
        if x:
            x.pop("cudagraph", None)
        self.__class__ = Tensor


def _mark(t, runner) -> None:
    x = t._x
    if x is None:
        x = t._x = {}
    x["cudagraph"] = (runner, runner.gen)
    t.__class__ = _CudaGraphOutput


# -- planning: which nodes are captured -------------------------------------------------------

def _has_sym(a) -> bool:
    t = type(a)
    if t is Sym:
        return True
    if t is tuple or t is list:
        return any(_has_sym(x) for x in a)
    return False


def host_reason(n) -> Optional[str]:
    """Why node ``n`` cannot be inside a captured CUDA graph (None: it can)."""
    if n.op == "check":
        return "a validation check reads values on the host"
    if n.op == "counter":
        return "an optimizer step counter (a host scalar)"
    if n.op in RANDOM:
        return "a random draw (the generator's offset advances on the host each call)"
    if n.op in _HOST_OPS:
        return "a host<->device copy"
    if _has_sym(n.args) or (n.kwargs and _has_sym(tuple(n.kwargs.values()))):
        return f"{n.op} reads the optimizer step count as a host scalar"
    if n.device is None or canonical(n.device).type == "cpu":
        return "runs on cpu"
    return None


class _Segment:
    __slots__ = ("nodes", "device", "runtime", "inputs", "defines", "static_in", "static_out",
                 "launches")

    def __init__(self, device):
        self.nodes: list = []
        self.device = device
        self.runtime = None
        self.inputs: List[int] = []
        self.defines: List[int] = []
        self.static_in: Dict[int, Any] = {}
        self.static_out: Dict[int, Any] = {}
        self.launches = None


def plan(g: Graph):
    """``g``'s nodes as a list of items in order: a ``_Segment`` (captured) or a list of
    nodes (run eagerly), and the reasons of the eager nodes ``[(op, reason, src)]``."""
    items: list = []
    reasons: list = []
    for n in g.nodes:
        why = host_reason(n)
        if why is None:
            last = items[-1] if items else None
            if not isinstance(last, _Segment) or last.device != n.device:
                last = _Segment(n.device)
                items.append(last)
            last.nodes.append(n)
        else:
            reasons.append((n.op, why, n.src))
            if not items or isinstance(items[-1], _Segment):
                items.append([])
            items[-1].append(n)
    for seg in items:
        if not isinstance(seg, _Segment):
            continue
        defined = set()
        seen = set()
        for n in seg.nodes:
            for v in _refs(n):
                if v not in defined and v not in seen:
                    seen.add(v)
                    seg.inputs.append(v)
            for o in n.outs:
                if o not in defined:
                    defined.add(o)
                    seg.defines.append(o)
    return items, reasons


def _refs(n):
    out = []

    def rec(a):
        t = type(a)
        if t is Ref:
            out.append(a.v)
        elif t is tuple or t is list:
            for x in a:
                rec(x)
        elif t is dict:
            for x in a.values():
                rec(x)
    if n.op == "fused":
        rec(n.args[1:])
    else:
        rec(n.args)
        if n.kwargs:
            rec(n.kwargs)
    return out


# -- the runner -------------------------------------------------------------------------------

class _NoCapture(Exception):
    pass


def _same_memory(a, b, ptr) -> bool:
    return a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype \
        and ptr(a) == ptr(b)


class CudaGraphRunner:
    """Runs one compiled graph with CUDA graphs (see the module docstring).  ``segments``:
    the captured pieces (each with ``launches``, a ``CapturedLaunches``); ``eager_nodes``:
    ``[(op, reason, source line)]`` of the nodes that run between them; ``failed``: why
    capture failed (the graph then runs on the interpreter); ``replays``."""

    def __init__(self, g: Graph, name: str):
        self.g = g
        self.name = name
        self.items, self.eager_nodes = plan(g)
        self.segments = [s for s in self.items if isinstance(s, _Segment)]
        self.calls = 0
        self.replays = 0
        self.gen = 0
        self.failed: Optional[str] = None
        self._static_args: Dict[int, Any] = {}
        self._static_ids: set = set()
        self._input_ids = {v.id for v in g.inputs}

    @property
    def launches(self) -> int:
        """Kernel launches captured per call (all segments)."""
        return sum(len(s.launches) for s in self.segments if s.launches is not None)

    def summary(self) -> str:
        if self.failed:
            return f"capture failed, runs on the interpreter: {self.failed}"
        if not self.segments:
            return "nothing to capture (no node runs on a cuda/cudasim device)"
        kinds: Dict[str, int] = {}
        for op, why, _ in self.eager_nodes:
            kinds[why] = kinds.get(why, 0) + 1
        gaps = "; ".join(f"{k} x{c}" for k, c in kinds.items()) or "none"
        state = (f"{self.launches} launches captured" if self.segments[0].launches is not None
                 else "not captured yet")
        return (f"{len(self.segments)} captured segment(s), {state}, "
                f"{sum(len(s.nodes) for s in self.segments)} nodes inside, "
                f"{len(self.eager_nodes)} eager node(s) between them ({gaps}); "
                f"{self.replays} replay(s)")

    # -- calls -----------------------------------------------------------------------------
    def __call__(self, args, kwargs):
        self.calls += 1
        if self.failed or not self.segments:
            from .interpreter import run
            return run(self.g, args, kwargs)          # fallback / nothing to capture
        if self.calls == 1:
            return self._warm_up(args, kwargs)
        if self.segments[0].launches is None:
            return self._capture(args, kwargs)
        return self._replay(args, kwargs)

    def _outputs(self, env):
        g = self.g
        devices = {v.id: canonical(g.devices[v.id]) for v in g.outputs}
        out = build_output(g.output_spec, env, devices)
        static = self._static_ids
        for t in _leaves(out):
            d = _DATA.__get__(t)
            if id(d) in static or (getattr(d, "base", None) is not None and id(d.base) in static):
                _mark(t, self)
        return out

    def _used_inputs(self):
        used = set()
        for s in self.segments:
            used.update(v for v in s.inputs if v in self._input_ids)
        return used

    def _warm_up(self, args, kwargs):
        """One run on the interpreter with the arguments laid out as the capture will lay
        them out (contiguous), so that every kernel variant and layout the capture needs is
        built and cached now: compiling or uploading metadata inside a capture fails on a
        GPU."""
        g = self.g
        env = bind_inputs(g, args, kwargs)
        for v in self._used_inputs():
            be = canonical(g.devices.get(v))._be
            env[v] = be.contiguous(env[v])
        execute(g, env)
        write_back(g, env)
        devices = {v.id: canonical(g.devices[v.id]) for v in g.outputs}
        return build_output(g.output_spec, env, devices)

    def _replay(self, args, kwargs):
        g = self.g
        env = bind_inputs(g, args, kwargs)
        self.gen += 1                   # every earlier output is about to be overwritten
        syms: dict = {}
        for item in self.items:
            if type(item) is list:
                execute(g, env, item, syms)
                continue
            ptr = canonical(item.device)._be.ptr
            for v, st in item.static_in.items():
                cur = env[v]
                if cur is not st:
                    if not _same_memory(cur, st, ptr):
                        _copy_in(item.device, st, cur, v, g)
                    env[v] = st
            item.launches.replay()
            env.update(item.static_out)
        self.replays += 1
        write_back(g, env)
        return self._outputs(env)

    def _capture(self, args, kwargs):
        g = self.g
        env = bind_inputs(g, args, kwargs)
        self.gen += 1
        # tensor arguments get static buffers of their own (the caller's arrays change)
        for v in self._used_inputs():
            dev = g.devices.get(v)
            be = canonical(dev)._be
            src = env[v]
            st = be.empty(src.shape, src.dtype)
            be.copy_(st, src)
            self._static_args[v] = st
            env[v] = st
        syms: dict = {}
        items = self.items
        for i, item in enumerate(items):
            if type(item) is list:
                execute(g, env, item, syms)
                continue
            try:
                self._capture_segment(item, env)
            except Exception as e:  # noqa: BLE001  (the reason is reported, the call finishes)
                self._fail(e, item)
                for s in self.segments:
                    s.launches = None
                    s.static_in, s.static_out = {}, {}
                rest = [n for it in items[i:] for n in (it if type(it) is list else it.nodes)]
                execute(g, env, rest, syms)    # nothing of the failed capture has run
                write_back(g, env)
                devices = {v.id: canonical(g.devices[v.id]) for v in g.outputs}
                return build_output(g.output_spec, env, devices)
            item.launches.replay()              # this call's results
            env.update(item.static_out)
        self.replays += 1
        ids = set()
        for s in self.segments:
            ids.update(id(a) for a in s.static_out.values())
        self._static_ids = ids
        write_back(g, env)
        return self._outputs(env)

    def _capture_segment(self, seg: _Segment, env) -> None:
        g = self.g
        be = canonical(seg.device)._be
        rt = getattr(be, "runtime", None)
        if rt is None:
            raise _NoCapture(f"the {seg.device} backend has no kernel runtime")
        seg.runtime = rt
        seg.static_in = {v: env[v] for v in seg.inputs}
        saved = _forbid_host_transfers(be)
        rt.begin_capture()
        node = None
        try:
            for node in seg.nodes:
                execute(g, env, (node,), {})
            node = None
            seg.launches = rt.end_capture()
        except BaseException as e:
            rt.abort_capture()
            if node is not None:
                e._cudagraph_node = node
            raise
        finally:
            _restore(be, saved)
        seg.static_out = {v: env[v] for v in seg.defines if v in env}

    def _fail(self, e, seg) -> None:
        msg = (f"{type(e).__name__}: {e}".splitlines() or [""])[0]
        node = getattr(e, "_cudagraph_node", None)
        if node is not None:
            what = node.op
            if node.args and isinstance(node.args[0], str):
                what += f" {node.args[0]}"            # unary relu, binary add, reduce sum
            msg += f" (in {what}" + (f" at {node.src})" if node.src else ")")
        self.failed = msg
        warnings.warn(f"minitorch.compile({self.name}, mode='reduce-overhead'): CUDA graph "
                      f"capture failed, running the compiled graph without CUDA graphs: "
                      f"{self.failed}", stacklevel=4)


def _leaves(out):
    if isinstance(out, Tensor):
        yield out
    elif isinstance(out, (tuple, list)):
        for x in out:
            yield from _leaves(x)
    elif isinstance(out, dict):
        for x in out.values():
            yield from _leaves(x)


def _copy_in(device, static, cur, v, g) -> None:
    be = canonical(device)._be
    if static.shape != cur.shape or static.dtype != cur.dtype:
        raise RuntimeError(f"compiled graph {g.name}: value %{v} changed to {cur.dtype} "
                           f"{list(cur.shape)} but the CUDA graph was captured with "
                           f"{static.dtype} {list(static.shape)}")
    be.copy_(static, cur)


def _forbid_host_transfers(be):
    """Make the backend's host<->device transfers raise CaptureError while capturing (a GPU
    refuses them inside a stream capture; the simulator would silently run them at capture
    time only)."""
    from ..backends.runtime.base import CaptureError
    saved = {}
    for name, what in (("to_numpy", "a device-to-host read-back"),
                       ("from_numpy", "a host-to-device upload"),
                       ("asarray", "a host-to-device upload")):
        if hasattr(be, name):
            saved[name] = be.__dict__.get(name, _MISSING)

            def refuse(*a, _what=what, **k):
                raise CaptureError(f"{_what} inside a captured CUDA graph (its value would be "
                                   f"fixed at capture time)")
            setattr(be, name, refuse)
    return saved


_MISSING = object()


def _restore(be, saved) -> None:
    for name, old in saved.items():
        if old is _MISSING:
            try:
                delattr(be, name)
            except AttributeError:
                pass
        else:
            setattr(be, name, old)
