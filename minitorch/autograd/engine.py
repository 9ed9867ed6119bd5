"""The backward engine: runs graph nodes in a topological order, iteratively.

1. Discover: an explicit-stack DFS from the output nodes over ``next_functions`` counts, for
   each node, how many edges point at it (its dependencies).  When ``inputs`` are given, only
   nodes from which an input can be reached are kept.
2. Execute (Kahn's algorithm): a node runs once all its dependents have run and its gradient
   buffer is complete.  Gradients for the same output are summed.  Leaves accumulate into
   ``.grad`` (or, for ``autograd.grad``, are captured and returned).
No recursion anywhere, so a 100,000-op chain is fine.  Saved tensors are released after a
node runs unless ``retain_graph``.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from .. import _tracing
from .._dtype import _BY_NP
from ..tensor import Tensor, _make
from .function import AccumulateGrad, BackwardNode, _accumulate_node, _state

_create_graph_stack: List[bool] = []


def _create_graph_active() -> bool:
    return bool(_create_graph_stack and _create_graph_stack[-1])


def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _root_grads(outputs, grad_outputs, create_graph):
    roots = []
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"outputs must be Tensors, got {type(out).__name__} at position {i}")
        if not out._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a "
                               f"grad_fn")
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            be = out._device._be
            g = _make(be.full(out._data.shape, 1, _BY_NP[out._data.dtype]), out._device, False,
                      None, 0, None)
        else:
            if not isinstance(g, Tensor):
                raise TypeError(f"gradient for output {i} must be a Tensor or None, got "
                                f"{type(g).__name__}")
            if g._data.shape != out._data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{g.shape!r} and output[{i}] has a shape of {out.shape!r}.")
            if g._device is not out._device:
                raise RuntimeError(f"invalid gradient at index {i} - expected device {out._device} "
                                   f"but got {g._device}")
            if not create_graph:
                g = g.detach()
        node = out.grad_fn if out.grad_fn is not None else _accumulate_node(out)
        roots.append((node, out._output_nr if out.grad_fn is not None else 0, g))
    return roots


def _discover(roots, targets: Optional[set]):
    """Dependency counts of the nodes reachable from ``roots`` (restricted, when targets are
    given, to nodes from which a target can be reached)."""
    seen = set()
    order = []
    stack = [n for n, _, _ in roots]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        order.append(n)
        for nxt, _ in n.next_functions:
            if nxt is not None and nxt not in seen:
                stack.append(nxt)
    useful = None
    if targets is not None:
        # reverse reachability: a node is useful if it is a target or feeds a useful node.
        # ``order`` is a DFS pre-order, so walking it backwards visits children first; loop
        # to a fixpoint for the DAG cases where that is not enough (usually one more pass).
        useful = {n for n in order if n in targets}
        changed = True
        while changed:
            changed = False
            for n in reversed(order):
                if n in useful:
                    continue
                for nxt, _ in n.next_functions:
                    if nxt is not None and nxt in useful:
                        useful.add(n)
                        changed = True
                        break
    deps: Dict[BackwardNode, int] = {}
    for n in order:
        if useful is not None and n not in useful:
            continue
        for nxt, _ in n.next_functions:
            if nxt is not None and (useful is None or nxt in useful):
                deps[nxt] = deps.get(nxt, 0) + 1
    return deps, useful


def _zeros_for(meta, device) -> Tensor:
    shape, npdt = meta
    return _make(device._be.full(shape, 0, _BY_NP[npdt]), device, False, None, 0, None)


def _materialize(node, grads) -> list:
    """Zeros for the missing gradients of a node's outputs (PyTorch's materialize_grads:
    a user backward is called with zeros, never None, unless it opted out)."""
    meta = node._out_meta  # an entry is None for a non-tensor output: its gradient stays None
    if meta is None:
        return grads
    dev = node.__dict__.get("_out_device")
    if dev is None:
        dev = _any(grads)._device
    return [g if g is not None or meta[i] is None else _zeros_for(meta[i], dev)
            for i, g in enumerate(grads)]


def run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=None,
                 accumulate=True, allow_unused=False):
    """Shared by ``Tensor.backward``/``autograd.backward`` (accumulate=True) and
    ``autograd.grad`` (accumulate=False: the gradients of ``inputs`` are returned)."""
    if _tracing.active is not None:
        _tracing.active.saw_backward = True  # a traced training step: see jit/capture.py
    outputs = _as_tuple(outputs)
    grad_outputs = _as_tuple(grad_outputs)
    if grad_outputs is not None and len(grad_outputs) != len(outputs):
        raise RuntimeError("grad can be implicitly created only for scalar outputs"
                           if not grad_outputs else
                           f"Mismatch in number of gradients: got {len(grad_outputs)} gradients "
                           f"for {len(outputs)} outputs")
    if retain_graph is None:
        retain_graph = create_graph
    roots = _root_grads(outputs, grad_outputs, create_graph)

    targets = None
    capture = {}  # (node, output_nr) -> position in inputs
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if not inputs:
            raise RuntimeError(f"`inputs` argument to `{'backward' if accumulate else 'grad'}()` "
                               "cannot be empty.")
        targets = set()
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError(f"inputs must be Tensors, got {type(t).__name__}")
            if not t._requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            if t.grad_fn is not None:
                node, nr = t.grad_fn, t._output_nr
            else:
                node, nr = _accumulate_node(t), 0
            targets.add(node)
            capture[(node, nr)] = i
    results: List[Optional[Tensor]] = [None] * (len(inputs) if inputs is not None else 0)

    deps, useful = _discover(roots, targets)
    buffers: Dict[BackwardNode, list] = {}
    ready = []
    for node, nr, g in roots:
        if useful is not None and node not in useful:
            continue
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._n_outputs
        buf[nr] = g if buf[nr] is None else buf[nr] + g
        if deps.get(node, 0) == 0 and node not in ready:
            ready.append(node)

    prev_grad = _state.grad
    _state.grad = create_graph
    _create_graph_stack.append(create_graph)
    # buffers a leaf's .grad must not take over (it would alias them): the caller's gradient
    # tensors and buffers already stored as some .grad during this pass
    protected = {id(g._data) for g in grad_outputs if g is not None} if grad_outputs else set()
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None)
            if grads is None:  # every edge into this node carried None (see below)
                grads = [None] * node._n_outputs
            if node._pre_hooks:
                _run_pre_hooks(node, grads)
            if isinstance(node, AccumulateGrad):
                if grads[0] is None:
                    continue
                if accumulate:
                    if inputs is None or (node, 0) in capture:
                        _accumulate(node.variable, grads[0], create_graph, protected)
                        if node._post_acc_hooks:  # Tensor.register_post_accumulate_grad_hook
                            for h in list(node._post_acc_hooks):
                                h(node.variable)
                elif grads[0] is not None:
                    pos = capture.get((node, 0))
                    if pos is not None:
                        results[pos] = grads[0]
                continue
            if capture:
                for nr in range(len(grads)):
                    pos = capture.get((node, nr))
                    if pos is not None and grads[nr] is not None:
                        if accumulate:  # backward(inputs=[non_leaf]) fills its .grad
                            _accumulate(inputs[pos], grads[nr], create_graph, protected)
                        else:
                            results[pos] = grads[nr]
            if targets is not None and not any(
                    nx is not None and nx in useful for nx, _ in node.next_functions):
                continue  # nothing below this node is wanted
            if node._builtin and not any(g is not None for g in grads):
                # nothing flows in: a built-in backward would return None for every input,
                # so skip it -- but the node still counts as run, so that the nodes below it
                # (which may get gradients through other paths) become ready
                in_grads = (None,) * len(node.next_functions)
                if node._post_hooks:
                    for h in node._post_hooks:
                        r = h(in_grads, tuple(grads))
                        if r is not None:
                            in_grads = tuple(r)
            else:
                if node.materialize_grads and None in grads:
                    grads = _materialize(node, grads)
                in_grads = _call(node, grads)
            if not retain_graph:
                node._release()
            for (nxt, nr), g in zip(node.next_functions, in_grads):
                if nxt is None or (useful is not None and nxt not in useful):
                    continue
                if g is not None:
                    buf = buffers.get(nxt)
                    if buf is None:
                        buf = buffers[nxt] = [None] * nxt._n_outputs
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                left = deps[nxt] - 1
                deps[nxt] = left
                if left == 0:  # ready even with no gradient: its children wait on it
                    ready.append(nxt)
        if _queued_callbacks and len(_create_graph_stack) == 1:
            _run_queued_callbacks()
    finally:
        _state.grad = prev_grad
        _create_graph_stack.pop()
        if len(_create_graph_stack) == 0:
            _queued_callbacks.clear()

    if inputs is not None and not accumulate:
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
            if r is not None and not create_graph:
                results[i] = r.detach()
        return tuple(results)
    return None


_queued_callbacks: list = []


def queue_callback(callback) -> None:
    """Run ``callback()`` once the current (outermost) backward pass has finished, as
    ``torch.autograd.Variable._execution_engine.queue_callback`` does (DistributedDataParallel
    waits for its gradient all-reduces there)."""
    if not _create_graph_stack:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _queued_callbacks.append(callback)


def _run_queued_callbacks() -> None:
    i = 0
    while i < len(_queued_callbacks):  # a callback may queue another one
        _queued_callbacks[i]()
        i += 1
    _queued_callbacks.clear()


def _any(grads):
    for g in grads:
        if g is not None:
            return g
    raise RuntimeError("no gradient to infer a device from")


def _run_pre_hooks(node, grads) -> None:
    hooks = node._pre_hooks
    if not hooks:
        return
    for nr in range(len(grads)):
        for h in list(hooks.get(nr, ())):
            if getattr(h, "_retain_grad", False):
                continue
            # as in PyTorch, a tensor hook also sees a missing gradient (None)
            r = h(grads[nr])
            if r is not None:
                grads[nr] = r
        for h in hooks.get(nr, ()):
            if getattr(h, "_retain_grad", False) and grads[nr] is not None:
                h(grads[nr].clone())  # its own buffer: later in-place ops must not alias
    for h in list(hooks.get(-1, ())):
        r = h(tuple(grads))
        if r is not None:
            grads[:] = list(r)


def _call(node: BackwardNode, grads) -> tuple:
    out = node.apply(*grads)
    if node._builtin and not node._post_hooks and not _state.anomaly:
        # minitorch's own backward formulas: one value per argument, Tensors or None
        # (checked by the op tests' gradchecks); only map arguments to tensor inputs
        if type(out) is not tuple:
            out = (out,)
        pos = node.__dict__.get("_grad_pos")
        return out if pos is None else tuple(out[i] for i in pos)
    if type(out) is not tuple:
        out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    d = node.__dict__
    pos = d.get("_grad_pos")  # arguments that were tensors, if not all were
    n_in = len(node.next_functions) if pos is None else len(node.needs_input_grad)
    if len(out) != n_in:
        if len(out) > n_in and all(g is None for g in out[n_in:]):
            out = out[:n_in]
        else:
            raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                               f"(expected {n_in}, got {len(out)})")
    for i, g in enumerate(out):
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"function {node.name()} returned a gradient of type "
                            f"{type(g).__name__} at index {i}; expected a Tensor or None")
    meta = d.get("_in_meta")  # user Functions: check what backward returned
    if meta is not None:
        out = _validate(node, out, meta)
    if pos is not None:
        out = tuple(out[i] for i in pos)
    if node._post_hooks:
        for h in node._post_hooks:
            r = h(out, tuple(grads))
            if r is not None:
                out = tuple(r)
    if _state.anomaly and _state.anomaly_check_nan:
        from .anomaly import check_nan
        check_nan(node, out)
    return out


def _validate(node, grads, meta) -> tuple:
    """A user backward's gradients must fit their inputs: sum a broadcast one down, cast
    the dtype, reject any other shape (PyTorch's validate_outputs)."""
    out = list(grads)
    for i, g in enumerate(out):
        if g is None or meta[i] is None:
            continue
        shape, npdt = meta[i]
        if g._data.shape != shape:
            from ..ops.elementwise import broadcast_shapes, sum_to
            try:
                ok = broadcast_shapes(shape, g._data.shape) == g._data.shape
            except RuntimeError:
                ok = False
            if not ok:
                raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index "
                                   f"{i} - got {list(g._data.shape)} but expected shape compatible "
                                   f"with {list(shape)}")
            g = sum_to(g, shape)
        if g._data.dtype != npdt:
            from .._dtype import _BY_NP
            g = g.to(_BY_NP[npdt])
        out[i] = g
    return tuple(out)


def _accumulate(t: Tensor, g: Tensor, create_graph: bool, protected: set) -> None:
    if g._data.shape != t._data.shape:
        from ..ops.elementwise import sum_to
        try:
            g = sum_to(g, t._data.shape)
        except Exception:
            raise RuntimeError(f"Function AccumulateGrad returned an invalid gradient - got "
                               f"{list(g.shape)} but expected shape compatible with "
                               f"{list(t.shape)}") from None
    if g._data.dtype != t._data.dtype:
        g = g.to(t.dtype)
    if not create_graph:
        g = g.detach() if g.grad_fn is not None or g._requires_grad else g
    if t._grad is None:
        # .grad gets its own buffer: not one the caller or another .grad holds, and not a
        # view (e.g. the read-only broadcast that sum's backward makes)
        if id(g._data) in protected or getattr(g._data, "base", None) is not None:
            g = g.clone()
        protected.add(id(g._data))
        # shape, dtype and device were made to match above: skip the .grad setter's checks
        t._grad = g if create_graph else _make(g._data, g._device, False, None, 0, None)
    else:
        t._grad = t._grad + g


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None) -> None:
    """Compute the sum of gradients of ``tensors`` w.r.t. the graph leaves (into ``.grad``)."""
    if grad_variables is not None:
        grad_tensors = grad_variables
    run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=inputs,
                 accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False,
         materialize_grads=False):
    """Return the gradients of ``outputs`` w.r.t. ``inputs`` (nothing is accumulated)."""
    if allow_unused is None:
        allow_unused = materialize_grads
    res = run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=inputs,
                       accumulate=False, allow_unused=allow_unused)
    if materialize_grads:
        from ..creation import zeros_like
        ins = _as_tuple(inputs)
        res = tuple(r if r is not None else zeros_like(i) for r, i in zip(res, ins))
    return res

