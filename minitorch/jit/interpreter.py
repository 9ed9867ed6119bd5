"""The interpreter: run a Graph node by node through the device backends.

It calls the very primitives the eager run called, with the arrays of this call: the
reference every later backend (fused kernels, CUDA graphs) is checked against.  State inputs
are read live from their slots (parameters, ``.grad``, optimizer state); after the last node
the write-backs put each changed state tensor's final version in place and version counters
move as the eager run moved them.
"""
from __future__ import annotations

from typing import Any, Dict

from ..device import canonical
from .capture import build_output, flatten
from .graph import BackendRef, Gen, Graph, Ref, Sym, check_fn

__all__ = ["run"]


def _resolve(a, env, syms):
    t = type(a)
    if t is Ref:
        return env[a.v]
    if t is tuple:
        return tuple(_resolve(x, env, syms) for x in a)
    if t is list:
        return [_resolve(x, env, syms) for x in a]
    if t is Sym:
        return syms[a.i]
    if t is Gen:
        return a.gen if a.gen is not None else _default_gen(a.device)
    if t is BackendRef:
        return canonical(a.device)._be
    return a


def _default_gen(device: str):
    from ..random import generator_for
    return generator_for(canonical(device))


def bind_inputs(g: Graph, args, kwargs) -> Dict[int, Any]:
    """The environment at the start of a call: arguments, state and constants."""
    leaves, spec = flatten((tuple(args), dict(kwargs)))
    if len(leaves) != len(g.inputs):
        raise TypeError(f"graph {g.name} takes {len(g.inputs)} tensor argument(s), got "
                        f"{len(leaves)}")
    env: Dict[int, Any] = dict(g.consts)
    for v, t in zip(g.inputs, leaves):
        if tuple(t._data.shape) != v.shape or str(t._data.dtype) != v.dtype:
            raise RuntimeError(f"graph {g.name}: input {v.name or v.id} expects "
                               f"{v.type}, got {t.dtype} {list(t.shape)} (a graph is "
                               f"specialized to the shapes it was traced with)")
        env[v.id] = t._data
    for name, v in g.state:
        arr = g._slots[name].read()
        if arr is None:
            raise RuntimeError(f"graph {g.name}: state {name} is None but the graph reads it")
        env[v.id] = arr
    return env


def execute(g: Graph, env: Dict[int, Any], nodes=None, syms=None) -> None:
    """Run ``nodes`` (default: all of ``g.nodes``) on ``env``; ``syms`` carries the step
    counts between calls that run one graph in pieces (jit/cudagraphs.py)."""
    if syms is None:
        syms = {}
    bes: Dict[str, Any] = {}
    for n in (g.nodes if nodes is None else nodes):
        be = bes.get(n.device)
        if be is None:
            be = bes[n.device] = canonical(n.device)._be
        op = n.op
        if op == "counter":
            ref, i = n.args
            arr = env[ref.v]
            arr += 1
            syms[i] = float(arr)
            env[n.outs[0]] = arr
            continue
        if op == "fused":  # a generated kernel (minitorch.compiler): arrays in, arrays out
            res = n.args[0](be, [env[a.v] for a in n.args[1:]])
            for o, arr in zip(n.outs, res):
                env[o] = arr
            continue
        args = _resolve(n.args, env, syms)
        if op == "check":
            check_fn(args[0])(*args[1:])
            continue
        kwargs = {k: _resolve(v, env, syms) for k, v in n.kwargs.items()} if n.kwargs else {}
        res = getattr(be, op)(*args, **kwargs)
        if res is None and op == "reshape":
            # traced as a view, but its input now has another layout (a fused kernel writes
            # its result contiguous where the eager op kept its input's strides): eager's
            # Reshape copies in that case, and so does the replay
            res = be.reshape(be.contiguous(args[0]), args[1])
        r = n.results
        if r is not None:
            if type(r) is int:
                env[n.outs[r]] = res
            else:
                for j, k in enumerate(r):
                    if k is not None:
                        env[n.outs[k]] = res[j]
        for w, o in zip(n.writes, n.wnew):
            # the new version of a written argument is the same (mutated) array
            if o not in env or env[o] is not env[w]:
                env[o] = env[w]


def write_back(g: Graph, env: Dict[int, Any]) -> None:
    for name, v in g.writebacks:
        g._slots[name].write(None if v is None else env[v.id])
    for name, d in g._version_bumps:
        t = g._slots[name].tensor
        if t._vc is None:
            t._vc = [0]
        t._vc[0] += d


def run(g: Graph, args, kwargs):
    env = bind_inputs(g, args, kwargs)
    execute(g, env)
    write_back(g, env)
    devices = {}
    for v in g.outputs:
        devices[v.id] = canonical(g.devices[v.id])
    return build_output(g.output_spec, env, devices)
