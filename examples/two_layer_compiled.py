"""Lecture step 9: a static graph of the whole training step (minitorch.compile).

The step of `two_layer_optim.py` (forward, loss, backward, SGD update) is traced once into a
graph of backend primitives -- printed here one op per line, with the source line of each --
then cleaned by the IR passes (constant folding, common subexpressions, dead code) and
replayed by the interpreter on every later call, under guards.  The script prints the IR,
the node count before and after the passes, checks that the compiled run gives the eager
run's losses, and times eager against compiled steps.

    python examples/two_layer_compiled.py [--steps 200] [--quiet] [--no-ir]
"""
from __future__ import annotations

import argparse
import statistics
import time

import minitorch as torch
from minitorch import nn, optim


def make(seed: int = 0):
    torch.manual_seed(seed)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x, y = torch.randn(N, D_in), torch.randn(N, D_out)
    model = nn.Sequential(nn.Linear(D_in, H), nn.ReLU(), nn.Linear(H, D_out))
    opt = optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    loss_fn = nn.MSELoss(reduction="sum")

    def train_step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return train_step, x, y


def run(step, x, y, steps: int):
    return [step(x, y).item() for _ in range(steps)]


def interleaved(a, b, x, y, steps: int):
    """Losses of both, and the median time of one step of each, timed A B A B ... so that
    machine noise hits both alike."""
    la, lb, ta, tb = [], [], [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        la.append(a(x, y).item())
        t1 = time.perf_counter()
        lb.append(b(x, y).item())
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
    return la, lb, statistics.median(ta), statistics.median(tb)


def main(steps: int = 200, quiet: bool = False, show_ir: bool = True) -> dict:
    eager_step, x, y = make()
    train_step, _, _ = make()               # the same model and optimizer, built again
    compiled_step = torch.compile(train_step)
    # warm both up: the first compiled call traces (the optimizer creates its momentum
    # buffers), the second traces the steady-state step that every later call replays
    le = run(eager_step, x, y, 2)
    lc = run(compiled_step, x, y, 2)
    graph = compiled_step.graphs[-1]
    ir = graph.unfused or graph          # the IR after the passes, before fusion
    nodes_line = next(p for p in graph.passes if p.startswith("nodes:"))
    traced_nodes = int(nodes_line.split()[1])
    if show_ir and not quiet:
        print(ir)
        print()
    if not quiet:
        print(f"nodes: {traced_nodes} traced -> {len(ir.nodes)} after the passes "
              f"({'; '.join(p for p in graph.passes if not p.startswith(('nodes', 'fusion')))})")
        print(f"fusion: {len(ir.nodes)} nodes -> {len(graph.nodes)} launches, with "
              f"{len(graph.kernels)} generated kernel(s):")
        for line in graph.fusion:
            print("  " + line)
    le2, lc2, t_eager, t_comp = interleaved(eager_step, compiled_step, x, y, steps)
    le, lc = le + le2, lc + lc2
    diff = max(abs(a - b) / max(abs(a), 1e-12) for a, b in zip(le, lc))
    if not quiet:
        print(f"losses: eager {le[0]:.6g} -> {le[-1]:.6g}, compiled {lc[0]:.6g} -> "
              f"{lc[-1]:.6g}, max relative difference {diff:.3g}")
        print(f"time per step (median, interleaved): eager {1000 * t_eager:.3f} ms, compiled "
              f"{1000 * t_comp:.3f} ms (eager/compiled {t_eager / t_comp:.2f}x), {steps} steps "
              f"each")
        compiled_step.explain()
    return {"eager": le, "compiled": lc, "nodes_before": traced_nodes,
            "nodes_after": len(ir.nodes), "launches": len(graph.nodes),
            "kernels": [k.name for k in graph.kernels], "max_rel_diff": diff}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--no-ir", action="store_true", help="do not print the graph")
    args = parser.parse_args()
    main(args.steps, args.quiet, not args.no_ir)
