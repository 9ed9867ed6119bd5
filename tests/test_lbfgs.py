"""optim.LBFGS against torch.optim.LBFGS: the same losses, parameters, closure-call counts
and state on a curve fit, Rosenbrock and a small regression, with and without the strong
Wolfe line search, on every device; state_dict round trips; PyTorch's errors."""
import io

import numpy as np
import pytest

import minitorch

torch = pytest.importorskip("torch")


def _tensor(m, data, dtype, device, requires_grad=False):
    kw = {} if m is torch else {"device": device}
    return m.tensor(np.asarray(data, dtype=np.float64), dtype=getattr(m, dtype),
                    requires_grad=requires_grad, **kw)


def rosenbrock(m, dtype, device):
    x = _tensor(m, [-1.5, 2.0], dtype, device, requires_grad=True)
    return [x], lambda: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def curve_fit(m, dtype, device):
    """Fit a * exp(-b x) * sin(c x) + e to noiseless data of the same form."""
    xs = _tensor(m, np.linspace(-2, 2, 50), dtype, device)
    ys = 2.0 * m.exp(-0.5 * xs) * m.sin(3 * xs) + 0.3
    p = _tensor(m, [1.0, 0.1, 1.0, 0.0], dtype, device, requires_grad=True)
    return [p], lambda: ((p[0] * m.exp(-p[1] * xs) * m.sin(p[2] * xs) + p[3] - ys) ** 2).mean()


def regression(m, dtype, device):
    """Two parameter tensors (weight and bias), as a model would have."""
    rng = np.random.default_rng(0)
    X = _tensor(m, rng.normal(size=(40, 3)), dtype, device)
    y = _tensor(m, rng.normal(size=(40, 1)), dtype, device)
    w = _tensor(m, rng.normal(size=(1, 3)) * 0.1, dtype, device, requires_grad=True)
    b = _tensor(m, [0.5], dtype, device, requires_grad=True)
    return [w, b], lambda: ((X @ w.t() + b - y) ** 2).mean() + 0.1 * (w ** 4).sum()


def mlp(m, dtype, device):
    """nn.Linear -> tanh -> nn.Linear with the same weights in both frameworks (the
    time-sequence example's optimizer: LBFGS(model.parameters(), lr=0.8))."""
    rng = np.random.default_rng(1)
    model = m.nn.Sequential(m.nn.Linear(2, 8), m.nn.Tanh(), m.nn.Linear(8, 1))
    model = model.to(getattr(m, dtype))
    if m is not torch:
        model = model.to(device)
    with m.no_grad():
        for prm in model.parameters():
            prm.copy_(_tensor(m, rng.normal(size=tuple(prm.shape)) * 0.5, dtype, device))
    X = _tensor(m, rng.normal(size=(30, 2)), dtype, device)
    y = m.sin(X[:, :1] * 2) * X[:, 1:]
    return list(model.parameters()), lambda: ((model(X) - y) ** 2).mean()


PROBLEMS = {"rosenbrock": rosenbrock, "curve_fit": curve_fit, "regression": regression,
            "mlp": mlp}


def run(m, problem, dtype="float64", device="cpu", steps=3, **opt_kw):
    params, f = PROBLEMS[problem](m, dtype, device)
    opt = m.optim.LBFGS(params, **opt_kw)
    losses = []
    for _ in range(steps):
        def closure():
            opt.zero_grad()
            loss = f()
            loss.backward()
            return loss
        losses.append(float(opt.step(closure).detach()))
    st = opt.state[params[0]]
    return (losses, [p.detach().cpu().numpy().astype(np.float64) for p in params],
            st["func_evals"], st["n_iter"], opt)


CASES = [  # (problem, options): lr=1 without a line search diverges on the first two
    ("rosenbrock", dict(lr=0.5)),
    ("rosenbrock", dict(line_search_fn="strong_wolfe")),
    ("curve_fit", dict(lr=0.1)),
    ("curve_fit", dict(line_search_fn="strong_wolfe")),
    ("regression", dict()),
    ("regression", dict(line_search_fn="strong_wolfe", history_size=3, max_iter=7)),
    ("rosenbrock", dict(line_search_fn="strong_wolfe", history_size=2, max_iter=30,
                        max_eval=31)),
    ("curve_fit", dict(lr=0.05, history_size=4, tolerance_change=1e-5)),
    ("mlp", dict(lr=0.8)),
    ("mlp", dict(line_search_fn="strong_wolfe", history_size=10)),
]


def _check_float64(problem, kw, device):
    losses, params, evals, iters, _ = run(minitorch, problem, device=device, **kw)
    t_losses, t_params, t_evals, t_iters, _ = run(torch, problem, **kw)
    assert (evals, iters) == (t_evals, t_iters)
    np.testing.assert_allclose(losses, t_losses, rtol=1e-6, atol=1e-9)
    for a, b in zip(params, t_params):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)  # rounding grows over ~60 evals


@pytest.mark.parametrize("problem,kw", CASES, ids=lambda v: str(v))
def test_matches_torch_float64(problem, kw):
    _check_float64(problem, kw, "cpu")


# on every device (the kernel devices run many tiny kernels: two cases keep this fast)
@pytest.mark.parametrize("problem,kw", [CASES[1], CASES[5]], ids=lambda v: str(v))
def test_matches_torch_float64_on_device(problem, kw, device):
    _check_float64(problem, kw, device)


def test_converges_to_rosenbrock_minimum():
    _, params, _, _, _ = run(minitorch, "rosenbrock", steps=5,
                             line_search_fn="strong_wolfe")
    np.testing.assert_allclose(params[0], [1.0, 1.0], atol=1e-4)


def test_matches_torch_float32():
    _check_float32(None, "cpu")


def test_matches_torch_float32_strong_wolfe(device):
    _check_float32("strong_wolfe", device)


def _check_float32(ls, device):
    kw = dict(lr=0.1) if ls is None else dict(line_search_fn=ls)
    losses, params, _, _, _ = run(minitorch, "regression", "float32", device, **kw)
    t_losses, t_params, _, _, _ = run(torch, "regression", "float32", **kw)
    np.testing.assert_allclose(losses, t_losses, rtol=1e-4)
    for a, b in zip(params, t_params):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


def test_already_optimal_returns_after_one_closure_call():
    for m in (minitorch, torch):
        x = m.zeros(3, dtype=m.float64, requires_grad=True)
        opt = m.optim.LBFGS([x])
        calls = []

        def closure():
            calls.append(1)
            opt.zero_grad()
            loss = (x ** 2).sum()
            loss.backward()
            return loss
        assert float(opt.step(closure)) == 0.0
        assert len(calls) == 1 and opt.state[x]["func_evals"] == 1
        assert opt.state[x]["n_iter"] == 0


@pytest.mark.parametrize("ls", [None, "strong_wolfe"])
def test_state_dict_keys_and_resume(ls, tmp_path):
    kw = dict(line_search_fn=ls, history_size=5, max_iter=4)
    *_, opt = run(minitorch, "regression", steps=2, **kw)
    *_, t_opt = run(torch, "regression", steps=2, **kw)
    sd, t_sd = opt.state_dict(), t_opt.state_dict()
    assert sorted(sd["state"][0]) == sorted(t_sd["state"][0])
    assert sd["param_groups"] == t_sd["param_groups"]
    # an uninterrupted run vs. two steps, save, load into a fresh optimizer, one more step
    full = run(minitorch, "regression", steps=3, **kw)
    params, f = PROBLEMS["regression"](minitorch, "float64", "cpu")
    opt1 = minitorch.optim.LBFGS(params, **kw)

    def closure(o):
        o.zero_grad()
        loss = f()
        loss.backward()
        return loss
    for _ in range(2):
        opt1.step(lambda: closure(opt1))
    minitorch.save(opt1.state_dict(), tmp_path / "lbfgs.safetensors")
    opt2 = minitorch.optim.LBFGS(params, **kw)
    opt2.load_state_dict(minitorch.load(tmp_path / "lbfgs.safetensors"))
    last = float(opt2.step(lambda: closure(opt2)))
    assert last == full[0][2]
    for a, b in zip(params, full[1]):
        np.testing.assert_array_equal(a.detach().numpy(), b)


def test_defaults_match_torch():
    p = minitorch.zeros(2, requires_grad=True)
    tp = torch.zeros(2, requires_grad=True)
    assert minitorch.optim.LBFGS([p]).defaults == torch.optim.LBFGS([tp]).defaults
    assert minitorch.optim.LBFGS([p], max_iter=8).defaults["max_eval"] == \
        torch.optim.LBFGS([tp], max_iter=8).defaults["max_eval"] == 10


def _both(fn):
    """fn(m, param) under both modules: the (exception type, message) each raises."""
    out = []
    for m in (minitorch, torch):
        p = m.zeros(2, requires_grad=True)
        with pytest.raises(Exception) as ei:
            fn(m, p)
        out.append((type(ei.value), str(ei.value)))
    return out


@pytest.mark.parametrize("case", ["groups", "lr", "line_search", "no_closure"])
def test_errors_match_torch(case):
    def closure_for(opt, p):
        def c():
            opt.zero_grad()
            loss = (p ** 2).sum()
            loss.backward()
            return loss
        return c

    def fn(m, p):
        if case == "groups":
            m.optim.LBFGS([{"params": [p]}, {"params": [m.zeros(1, requires_grad=True)]}])
        elif case == "lr":
            m.optim.LBFGS([p], lr=-1)
        elif case == "line_search":
            opt = m.optim.LBFGS([p], line_search_fn="backtracking")
            with m.no_grad():
                p += 1
            opt.step(closure_for(opt, p))
        else:
            m.optim.LBFGS([p]).step()
    (mt, mm), (tt, tm) = _both(fn)
    assert mt is tt
    assert tm in mm


def test_parameters_are_updated_in_place_and_versions_bump():
    x = minitorch.tensor([-1.5, 2.0], dtype=minitorch.float64, requires_grad=True)
    ident, v0 = id(x), x._version
    opt = minitorch.optim.LBFGS([x], max_iter=2)

    def closure():
        opt.zero_grad()
        loss = ((x - 1) ** 2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    assert id(x) == ident and x._version > v0
    assert x.grad is not None


def test_registered_in_optim():
    assert minitorch.optim.LBFGS is minitorch.optim.lbfgs.LBFGS
    assert "LBFGS" in minitorch.optim.__all__
    buf = io.StringIO()
    print(minitorch.optim.LBFGS([minitorch.zeros(1, requires_grad=True)]), file=buf)
    assert "LBFGS" in buf.getvalue()
