"""``LBFGS``: limited-memory BFGS with an optional strong-Wolfe line search, as
``torch.optim.LBFGS`` (same options, same iteration and stopping rules, same state).

The idea (Nocedal & Wright, *Numerical Optimization*, 2nd ed., ch. 7 and 3):

* Newton's method steps along ``-H g`` with ``H`` the inverse Hessian.  BFGS builds ``H`` from
  the changes seen so far: after a step ``s = x_new - x`` whose gradient changed by
  ``y = g_new - g``, the secant condition asks ``H y = s``.  L-BFGS keeps only the last
  ``history_size`` pairs ``(s, y)`` and never forms ``H``: the *two-loop recursion*
  (algorithm 7.4) computes ``H g`` from the pairs in O(history * n), starting from the scaled
  identity ``H0 = (s.y / y.y) I`` of the newest pair (eq. 7.20).  A pair with ``s.y <= 1e-10``
  (curvature not positive) is skipped, which keeps ``H`` positive definite.
* Without a line search each iteration moves by ``lr`` along the direction (the first by
  ``lr * min(1, 1/|g|_1)``, as the scale of ``H0`` is unknown then).
* ``line_search_fn="strong_wolfe"`` picks the step length ``t`` satisfying the strong Wolfe
  conditions (sufficient decrease ``f(t) <= f(0) + c1 t g.d`` and curvature
  ``|g(t).d| <= c2 |g.d|``, c1 = 1e-4, c2 = 0.9): a bracketing phase that grows ``t``
  (algorithm 3.5), then a *zoom* that shrinks the bracket (algorithm 3.6).  New trial points
  are the minimizer of the cubic through the two end points' values and slopes (eq. 3.59),
  kept away from the bracket's ends so every trial makes progress.

One ``step(closure)`` runs up to ``max_iter`` iterations, and stops early when the gradient's
largest entry is ``<= tolerance_grad``, when a step or the loss change is
``< tolerance_change``, when the direction stops descending, or after ``max_eval`` closure
calls.  ``closure`` must zero the gradients, compute the loss, call ``backward()`` and return
the loss; ``step`` returns the first loss it computed.

The vectors (gradients, directions, the history) are flat Tensors on the parameters' device,
so the arithmetic runs on that device's kernels; the scalars (dot products, step lengths) are
Python floats.
"""
from __future__ import annotations

import math
from typing import Callable, List, Optional, Tuple

from ..ops.shape import cat
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check

__all__ = ["LBFGS"]


def _cubic_min(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
               bounds: Optional[Tuple[float, float]] = None) -> float:
    """The minimizer of the cubic with values ``f1, f2`` and slopes ``g1, g2`` at ``x1, x2``
    (Nocedal & Wright eq. 3.59), clamped to ``bounds`` (default: between ``x1`` and ``x2``);
    the bounds' midpoint when the cubic has no real minimizer."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, lo), hi)


class _Point:
    """One trial step length of the line search: ``t``, ``f(t)``, gradient, slope ``g.d``."""
    __slots__ = ("t", "f", "g", "gtd")

    def __init__(self, t: float, f: float, g: Tensor, gtd: float):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def _strong_wolfe(evaluate: Callable[[float], Tuple[float, Tensor]], t: float, d: Tensor,
                  f: float, g: Tensor, gtd: float, c1: float = 1e-4, c2: float = 0.9,
                  tolerance_change: float = 1e-9, max_ls: int = 25):
    """A step length along ``d`` satisfying the strong Wolfe conditions, starting from
    ``t``.  ``evaluate(t)`` returns the loss and flat gradient at ``x + t d``.  Returns
    ``(f(t), g(t), t, evaluations)``."""
    d_norm = float(d.abs().max())
    start = _Point(0.0, f, g, gtd)
    prev = start
    fn, gn = evaluate(t)
    cur = _Point(t, fn, gn, float(gn.dot(d)))
    evals, it = 1, 0
    bracket: List[_Point] = []
    done = False
    # phase 1 (algorithm 3.5): grow t until [prev, cur] brackets an acceptable step
    while it < max_ls:
        if cur.f > f + c1 * cur.t * gtd or (it > 1 and cur.f >= prev.f):
            bracket = [prev, cur]
            break
        if abs(cur.gtd) <= -c2 * gtd:  # both conditions hold: accept
            bracket, done = [cur], True
            break
        if cur.gtd >= 0:  # the slope turned: a minimum lies between
            bracket = [prev, cur]
            break
        # extrapolate: the cubic's minimizer, at least 1% past cur and at most 10 * cur.t
        t_next = _cubic_min(prev.t, prev.f, prev.gtd, cur.t, cur.f, cur.gtd,
                            bounds=(cur.t + 0.01 * (cur.t - prev.t), cur.t * 10))
        prev = cur
        fn, gn = evaluate(t_next)
        cur = _Point(t_next, fn, gn, float(gn.dot(d)))
        evals += 1
        it += 1
    if it == max_ls:  # no bracket found: give the zoom [0, t] (it has no evaluations left)
        bracket = [start, cur]

    # phase 2 (algorithm 3.6): shrink the bracket; lo is the end with the lower loss
    insufficient = False
    lo, hi = (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)
    while not done and it < max_ls:
        a, b = bracket
        if abs(b.t - a.t) * d_norm < tolerance_change:
            break
        t_new = _cubic_min(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
        t_lo, t_hi = min(a.t, b.t), max(a.t, b.t)
        eps = 0.1 * (t_hi - t_lo)
        if min(t_hi - t_new, t_new - t_lo) < eps:
            # too close to an end: once (or if already at/over an end), move eps inside
            if insufficient or t_new >= t_hi or t_new <= t_lo:
                t_new = t_hi - eps if abs(t_new - t_hi) < abs(t_new - t_lo) else t_lo + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        fn, gn = evaluate(t_new)
        new = _Point(t_new, fn, gn, float(gn.dot(d)))
        evals += 1
        it += 1
        if new.f > f + c1 * new.t * gtd or new.f >= bracket[lo].f:
            bracket[hi] = new  # not enough decrease: new is the high end
            lo, hi = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            if abs(new.gtd) <= -c2 * gtd:
                done = True
            elif new.gtd * (bracket[hi].t - bracket[lo].t) >= 0:
                bracket[hi] = bracket[lo]  # keep the minimum between lo and new
            bracket[lo] = new
    best = bracket[lo]
    return best.f, best.g, best.t, evals


class LBFGS(Optimizer):
    """L-BFGS (see the module docstring).  All parameters form one group; ``step`` needs a
    ``closure`` that re-evaluates the loss and its gradients."""

    def __init__(self, params: ParamsT, lr: float = 1, max_iter: int = 20,
                 max_eval: Optional[int] = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: Optional[str] = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        _check(not lr < 0.0, f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # -- the parameters as one flat vector ------------------------------------------------------
    def _flat_grad(self) -> Tensor:
        parts = []
        for p in self._params:
            g = p.grad
            parts.append(p.new_zeros(p.numel()) if g is None else g.reshape(-1))
        return cat(parts, 0)

    def _add(self, t: float, d: Tensor) -> None:
        """Every parameter += t * its slice of the flat direction ``d``."""
        off = 0
        for p in self._params:
            n = p.numel()
            p.add_(d[off:off + n].view_as(p), alpha=t)  # an in-place op: bumps the version
            off += n

    def _evaluate(self, closure, x0: List[Tensor], t: float, d: Tensor):
        """Loss and flat gradient at ``x0 + t d``; the parameters are put back to ``x0``."""
        self._add(t, d)
        loss = float(self._closure_loss(closure))
        g = self._flat_grad()
        for p, x in zip(self._params, x0):
            p.copy_(x)
        return loss, g

    def step(self, closure: Callable[[], float]) -> float:  # noqa: C901 (one algorithm)
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss of the first closure
        call (before any update)."""
        if closure is None:
            raise TypeError("LBFGS.step() missing 1 required positional argument: 'closure'")
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search_fn = group["history_size"], group["line_search_fn"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._closure_loss(closure)
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if float(g.abs().max()) <= tol_grad:  # already optimal
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_g = state.get("H_diag"), state.get("prev_flat_grad")
        prev_loss, al = state.get("prev_loss"), state.get("al")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:  # steepest descent, empty history
                d = -g
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                y = g - prev_g
                s = d * t
                ys = float(y.dot(s))
                if ys > 1e-10:  # keep the pair only with positive curvature
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y.dot(y))  # H0 = (s.y / y.y) I
                # two-loop recursion (algorithm 7.4): d = -H g
                k = len(old_dirs)
                al = [None] * history_size
                q = -g
                for i in range(k - 1, -1, -1):
                    al[i] = float(old_stps[i].dot(q)) * ro[i]
                    q = q - old_dirs[i] * al[i]
                r = q * h_diag
                for i in range(k):
                    beta = float(old_dirs[i].dot(r)) * ro[i]
                    r = r + old_stps[i] * (al[i] - beta)
                d = r
            prev_g = g.clone()
            prev_loss = loss
            # step length: scaled down on the very first iteration (H0's scale is unknown)
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(g.abs().sum())) * lr
            else:
                t = lr
            gtd = float(g.dot(d))
            if gtd > -tol_change:  # d is not a descent direction (any more)
                break

            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x0 = [p.detach().clone() for p in self._params]
                # the search may use what is left of this step's max_eval budget
                loss, g, t, ls_evals = _strong_wolfe(
                    lambda tt: self._evaluate(closure, x0, tt, d), t, d, loss, g, gtd,
                    max_ls=max_eval - evals)
                self._add(t, d)
            else:
                self._add(t, d)
                ls_evals = 0
                if n_iter != max_iter:  # the last iteration's loss is the next step's job
                    loss = float(self._closure_loss(closure))
                    g = self._flat_grad()
                    ls_evals = 1
            opt_cond = float(g.abs().max()) <= tol_grad
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval or opt_cond:
                break
            if float(d.abs().max()) * abs(t) <= tol_change:  # the step is negligible
                break
            if abs(loss - prev_loss) < tol_change:  # the loss stopped changing
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_g, prev_loss=prev_loss, al=al)
        return orig_loss
