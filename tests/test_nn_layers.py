"""Layers, activations, losses, init and nn.utils against PyTorch: forward values and
gradients with the same inputs and weights (float64, tight tolerances), and the init
distributions against their formulas."""
import math

import numpy as np
import pytest

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = dict(rtol=1e-10, atol=1e-12)


def _lib_F(lib):
    return F if lib is minitorch else TF


def _np(t):
    return t.detach().numpy(force=True) if hasattr(t, "detach") else np.asarray(t)


def _check(fn, arrays, grad_of=None, tol=TOL, double_backward=False):
    """Run ``fn(lib, F, *tensors)`` with minitorch and with torch on the same arrays:
    compare the outputs, then the gradients of the float inputs in ``grad_of`` (indices,
    default: all float inputs) for a random upstream gradient."""
    rng = np.random.default_rng(1)
    if grad_of is None:
        grad_of = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    results = []
    for lib in (minitorch, torch):
        ts = [lib.tensor(a, requires_grad=(i in grad_of)) for i, a in enumerate(arrays)]
        out = fn(lib, _lib_F(lib), *ts)
        up = rng.standard_normal(tuple(out.shape))
        rng = np.random.default_rng(1)  # same upstream gradient for both
        gs = lib.autograd.grad(out, [ts[i] for i in grad_of], lib.tensor(up),
                               create_graph=double_backward) if grad_of else []
        extra = []
        if double_backward:
            s = sum((g * g).sum() for g in gs)
            extra = lib.autograd.grad(s, [ts[i] for i in grad_of], allow_unused=True)
        results.append((out, gs, extra))
    (mo, mg, me), (to, tg, te) = results
    assert tuple(mo.shape) == tuple(to.shape)
    assert mo.dtype.name == str(to.dtype).replace("torch.", "")
    np.testing.assert_allclose(_np(mo), _np(to), **tol)
    for a, b in zip(mg, tg):
        np.testing.assert_allclose(_np(a), _np(b), **tol)
    for a, b in zip(me, te):
        if b is None:
            assert a is None or np.allclose(_np(a), 0)
        else:
            np.testing.assert_allclose(_np(a), _np(b), **tol)
    return mo


def _randn(*shape, scale=1.0):
    return np.random.standard_normal(shape) * scale


# -- activations --------------------------------------------------------------------------

_SPECIAL = np.array([0.0, -0.0, 1e-9, -1e-9, 25.0, -25.0, 60.0, -60.0, 19.99, 20.0, 20.01])

ACTIVATIONS = [
    ("relu", {}), ("relu6", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}), ("celu", {"alpha": 2.0}),
    ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}), ("mish", {}),
    ("softplus", {}), ("softplus", {"beta": 2.0, "threshold": 10.0}), ("sigmoid", {}),
    ("tanh", {}), ("logsigmoid", {}), ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("softmax", {"dim": 1}), ("softmax", {"dim": 0}), ("log_softmax", {"dim": 1}),
    ("log_softmax", {"dim": -1}), ("softmin", {"dim": 1}),
]


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=[f"{n}-{k}" for n, k in ACTIVATIONS])
def test_activation_functional_matches_torch(name, kw):
    x = np.concatenate([_randn(5, 11, scale=3.0), _SPECIAL[None, :]], axis=0)
    _check(lambda lib, F_, t: getattr(F_, name)(t, **kw), [x])


@pytest.mark.parametrize("name", ["gelu", "softplus", "elu", "silu", "log_softmax", "softmax",
                                  "logsigmoid", "mish"])
def test_activation_double_backward_matches_torch(name):
    kw = {"dim": 1} if "softmax" in name else {}
    _check(lambda lib, F_, t: getattr(F_, name)(t, **kw), [_randn(4, 6, scale=2.0)],
           double_backward=True, tol=dict(rtol=1e-9, atol=1e-11))


MODULES = [("ReLU", {}), ("ReLU6", {}), ("LeakyReLU", {"negative_slope": 0.1}), ("ELU", {}),
           ("SELU", {}), ("CELU", {}), ("GELU", {}), ("GELU", {"approximate": "tanh"}),
           ("SiLU", {}), ("Mish", {}), ("Softplus", {"beta": 0.5}), ("Sigmoid", {}),
           ("Tanh", {}), ("LogSigmoid", {}), ("Hardtanh", {}), ("Softmax", {"dim": -1}),
           ("LogSoftmax", {"dim": 1}), ("Softmin", {"dim": 0}), ("Identity", {}),
           ("Flatten", {}), ("Flatten", {"start_dim": 0}), ("Unflatten", {"dim": 1,
                                                                           "unflattened_size": (2, 3)})]


@pytest.mark.parametrize("name,kw", MODULES, ids=[f"{n}-{k}" for n, k in MODULES])
def test_activation_module_matches_torch(name, kw):
    _check(lambda lib, F_, t: getattr(lib.nn, name)(**kw)(t), [_randn(3, 6, 2, scale=2.0)])


@pytest.mark.parametrize("name,kw", [("relu", {}), ("leaky_relu", {"negative_slope": 0.3}),
                                     ("elu", {}), ("silu", {}), ("selu", {}), ("hardtanh", {})])
def test_inplace_activation(name, kw):
    def fn(lib, F_, t):
        y = t * 1.0
        out = getattr(F_, name)(y, inplace=True, **kw)
        assert out is y
        return y
    _check(fn, [_randn(4, 5)])


def test_prelu_matches_torch():
    def fn(lib, F_, x, w):
        return F_.prelu(x, w)
    _check(fn, [_randn(3, 4, 5), np.array([0.1, 0.2, -0.3, 0.4])])
    _check(fn, [_randn(3, 4), np.array([0.25])])
    m = nn.PReLU(3)
    assert m.weight.tolist() == pytest.approx([0.25] * 3)


def test_erf_accuracy_and_grad():
    from minitorch.nn.functional.activation import erf
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, 1e-300, np.inf, -np.inf, 40.0]])
    got = erf(minitorch.tensor(x)).numpy()
    want = torch.erf(torch.tensor(x)).numpy()
    assert np.max(np.abs(got - want)) < 5e-15
    x32 = x.astype(np.float32)
    got32 = erf(minitorch.tensor(x32)).numpy()
    assert got32.dtype == np.float32
    assert np.max(np.abs(got32 - torch.erf(torch.tensor(x32)).numpy())) <= 1.2e-7
    _check(lambda lib, F_, t: (erf(t) if lib is minitorch else torch.erf(t)), [_randn(20)],
           double_backward=True)


def test_softmax_grad_fn_names_and_implicit_dim():
    x = minitorch.randn(2, 3, requires_grad=True)
    assert F.softmax(x, 1).grad_fn.name() == "SoftmaxBackward0"
    assert F.log_softmax(x, 1).grad_fn.name() == "LogSoftmaxBackward0"
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        y = F.softmax(x)
    np.testing.assert_allclose(y.detach().numpy().sum(1), 1.0, rtol=1e-6)
    assert F.softmax(minitorch.tensor(2.0), 0).item() == 1.0
    big = minitorch.tensor([[1000.0, 0.0, -1000.0]])
    assert np.isfinite(F.log_softmax(big, 1).numpy()).all()


def test_one_hot_normalize_pad_match_torch():
    idx = np.array([[0, 2], [1, 3]])
    assert np.array_equal(F.one_hot(minitorch.tensor(idx), 5).numpy(),
                          TF.one_hot(torch.tensor(idx), 5).numpy())
    x = _randn(4, 5)
    x[1] = 0.0
    _check(lambda lib, F_, t: F_.normalize(t, dim=1), [x])
    _check(lambda lib, F_, t: F_.normalize(t, p=1.0, dim=0), [x])
    _check(lambda lib, F_, t: F_.pad(t, (1, 2)), [_randn(2, 3)])
    _check(lambda lib, F_, t: F_.pad(t, (0, 1, 2, 0), value=1.5), [_randn(2, 3, 2)])


# -- linear ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5,), (7, 5), (2, 3, 5), (0, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(shape, bias):
    w, b = _randn(4, 5), _randn(4)

    def fn(lib, F_, x, w, b):
        return F_.linear(x, w, b if bias else None)
    _check(fn, [_randn(*shape), w, b], grad_of=[0, 1, 2] if bias else [0, 1])
    # double backward through the fused Addmm
    _check(fn, [_randn(*shape), w, b], grad_of=[0, 1, 2] if bias else [0, 1],
           double_backward=True)


def test_linear_module_with_copied_weights():
    tl = torch.nn.Linear(6, 3).double()
    ml = nn.Linear(6, 3, dtype=minitorch.float64)
    ml.load_state_dict({k: minitorch.tensor(v.numpy()) for k, v in tl.state_dict().items()})
    x = _randn(8, 6)
    mx, tx = minitorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mo, to = ml(mx), tl(tx)
    np.testing.assert_allclose(mo.detach().numpy(), to.detach().numpy(), **TOL)
    (mo * mo).sum().backward()
    (to * to).sum().backward()
    for a, b in ((ml.weight.grad, tl.weight.grad), (ml.bias.grad, tl.bias.grad),
                 (mx.grad, tx.grad)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), **TOL)
    assert mo.grad_fn.name() == "AddmmBackward0"


@pytest.mark.parametrize("case", [
    lambda lib: lib.nn.Linear(5, 2)(lib.ones(4, 3)),
    lambda lib: lib.nn.Linear(3, 2)(lib.ones(4, 3, dtype=lib.float64)),
    lambda lib: lib.nn.Linear(3, 2)(lib.ones(3, dtype=lib.int64)),
    lambda lib: lib.nn.functional.linear(lib.ones(3), lib.ones(2, 3), lib.ones(3)),
    lambda lib: lib.nn.functional.linear(lib.ones(5, 4, 3), lib.ones(2, 3), lib.ones(3)),
])
def test_linear_errors_match_torch(case):
    msgs = []
    for lib in (minitorch, torch):
        with pytest.raises(RuntimeError) as info:
            case(lib)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


def test_linear_init_distribution():
    minitorch.manual_seed(3)
    fan_in = 400
    m = nn.Linear(fan_in, 300)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=√5) gives exactly this bound
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 0.02 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert np.abs(b).max() <= bound and abs(b.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert m.weight.dtype == minitorch.float32
    assert nn.Linear(3, 2, dtype=minitorch.float64).bias.dtype == minitorch.float64
    assert nn.Linear(3, 2, bias=False).bias is None


# -- losses ---------------------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}),
                                     ("smooth_l1_loss", {"beta": 0.5}),
                                     ("smooth_l1_loss", {"beta": 0.0}),
                                     ("huber_loss", {"delta": 0.7})])
def test_regression_losses_match_torch(name, kw, reduction):
    def fn(lib, F_, x, t):
        return getattr(F_, name)(x, t, reduction=reduction, **kw)
    _check(fn, [_randn(4, 5), _randn(4, 5)])
    _check(fn, [_randn(6), _randn(6)], double_backward=True)


def test_mse_loss_broadcast_and_grad_fn():
    with pytest.warns(UserWarning, match="Using a target size"):
        _check(lambda lib, F_, x, t: F_.mse_loss(x, t), [_randn(4, 3), _randn(4, 1)])
    x = minitorch.randn(3, requires_grad=True)
    assert F.mse_loss(x, minitorch.zeros(3)).grad_fn.name() == "MseLossBackward0"


def _targets(n, c, ignore=None, shape=None):
    t = np.random.randint(0, c, size=shape or (n,))
    if ignore is not None:
        t.flat[::3] = ignore
    return t


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("ignore", [None, -100, 2])
def test_cross_entropy_class_indices_match_torch(reduction, weighted, smoothing, ignore):
    n, c = 7, 5
    arrays = [_randn(n, c, scale=2.0), _targets(n, c, ignore)]
    if weighted:
        arrays.append(np.random.uniform(0.2, 2.0, c))
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    if ignore is not None:
        kw["ignore_index"] = ignore

    def fn(lib, F_, x, t, *w):
        return F_.cross_entropy(x, t, weight=w[0] if w else None, **kw)
    _check(fn, arrays, grad_of=[0])

    def fn_module(lib, F_, x, t, *w):
        return lib.nn.CrossEntropyLoss(weight=w[0] if w else None, **kw)(x, t)
    _check(fn_module, arrays, grad_of=[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_and_unbatched(reduction):
    c = 4
    kw = dict(reduction=reduction, ignore_index=1, label_smoothing=0.1)
    _check(lambda lib, F_, x, t, w: F_.cross_entropy(x, t, weight=w, **kw),
           [_randn(2, c, 3, 2), _targets(2, c, shape=(2, 3, 2)), np.arange(1.0, c + 1)],
           grad_of=[0])
    _check(lambda lib, F_, x, t: F_.cross_entropy(x, t, reduction=reduction),
           [_randn(c), np.array(2)], grad_of=[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets(reduction, weighted, smoothing):
    n, c = 6, 4
    p = np.random.dirichlet(np.ones(c), size=n)
    arrays = [_randn(n, c), p] + ([np.random.uniform(0.5, 2, c)] if weighted else [])
    _check(lambda lib, F_, x, t, *w: F_.cross_entropy(
        x, t, weight=w[0] if w else None, reduction=reduction, label_smoothing=smoothing),
        arrays, grad_of=[0, 1])


def test_cross_entropy_double_backward_and_graph():
    _check(lambda lib, F_, x, t: F_.cross_entropy(x, t), [_randn(5, 3), _targets(5, 3)],
           grad_of=[0], double_backward=True)
    loss = F.cross_entropy(minitorch.randn(3, 4, requires_grad=True), minitorch.tensor([0, 1, 3]))
    assert loss.grad_fn.name() == "NllLossBackward0"
    assert loss.grad_fn.next_functions[0][0].name() == "LogSoftmaxBackward0"


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_matches_torch(reduction, weighted):
    n, c = 8, 3
    arrays = [_randn(n, c), _targets(n, c, ignore=-1)]
    if weighted:
        arrays.append(np.array([0.5, 1.0, 3.0]))
    _check(lambda lib, F_, x, t, *w: F_.nll_loss(x, t, weight=w[0] if w else None,
                                                 ignore_index=-1, reduction=reduction),
           arrays, grad_of=[0])
    _check(lambda lib, F_, x, t, *w: lib.nn.NLLLoss(weight=w[0] if w else None, ignore_index=-1,
                                                    reduction=reduction)(x, t),
           arrays, grad_of=[0])


def test_nll_all_ignored_is_nan_like_torch():
    for lib, F_ in ((minitorch, F), (torch, TF)):
        out = F_.nll_loss(lib.zeros(2, 3), lib.tensor([-100, -100]))
        assert math.isnan(float(out))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_matches_torch(reduction, weighted):
    x = np.random.uniform(0.01, 0.99, (4, 3))
    x[0, 0], x[0, 1] = 0.0, 1.0  # the clamped logs
    t = np.random.uniform(0, 1, (4, 3))
    arrays = [x, t] + ([np.random.uniform(0.5, 2.0, (3,))] if weighted else [])

    def fn(lib, F_, x, t, *w):
        return F_.binary_cross_entropy(x, t, weight=w[0] if w else None, reduction=reduction)
    _check(fn, arrays, grad_of=[0, 1])
    _check(lambda lib, F_, x, t, *w: lib.nn.BCELoss(weight=w[0] if w else None,
                                                    reduction=reduction)(x, t), arrays,
           grad_of=[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos", [False, True])
def test_bce_with_logits_matches_torch(reduction, weighted, pos):
    x = _randn(5, 3, scale=4.0)
    x[0] = [0.0, 80.0, -80.0]
    arrays = [x, np.random.uniform(0, 1, (5, 3))]
    arrays.append(np.random.uniform(0.5, 2.0, (3,)) if weighted else np.ones(3))
    arrays.append(np.random.uniform(0.5, 3.0, (3,)) if pos else np.ones(3))

    def fn(lib, F_, x, t, w, p):
        return F_.binary_cross_entropy_with_logits(x, t, weight=w if weighted else None,
                                                   pos_weight=p if pos else None,
                                                   reduction=reduction)
    _check(fn, arrays, grad_of=[0, 1])
    _check(lambda lib, F_, x, t, w, p: lib.nn.BCEWithLogitsLoss(
        weight=w if weighted else None, pos_weight=p if pos else None, reduction=reduction)(x, t),
        arrays, grad_of=[0])


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    p = np.random.dirichlet(np.ones(4), size=3)
    p[0, 0] = 0.0
    t = np.log(p + 1e-3) if log_target else p
    _check(lambda lib, F_, x, t: F_.kl_div(x, t, reduction=reduction, log_target=log_target),
           [np.log(np.random.dirichlet(np.ones(4), size=3)), t], grad_of=[0])


@pytest.mark.parametrize("case", [
    lambda lib, F_: F_.cross_entropy(lib.zeros(2, 3), lib.tensor([0, 3])),
    lambda lib, F_: F_.nll_loss(lib.zeros(2, 3), lib.tensor([0, 1, 2])),
    lambda lib, F_: F_.binary_cross_entropy(lib.tensor([1.5]), lib.tensor([1.0])),
    lambda lib, F_: F_.binary_cross_entropy(lib.tensor([0.5, 0.5]), lib.tensor([[1.0, 0.0]])),
    lambda lib, F_: F_.mse_loss(lib.zeros(2), lib.zeros(2), reduction="avg"),
    lambda lib, F_: F_.cross_entropy(lib.zeros(2, 3), lib.tensor([0, 1]), label_smoothing=1.5),
    lambda lib, F_: F_.cross_entropy(lib.zeros(2, 3), lib.tensor([0, 1, 2])),
    lambda lib, F_: F_.cross_entropy(lib.zeros(2, 3), lib.zeros(2, 4)),
    lambda lib, F_: F_.cross_entropy(lib.zeros(2, 3, 4), lib.tensor([[0, 1, 2], [0, 1, 2]])),
    lambda lib, F_: F_.cross_entropy(lib.zeros(2, 3), lib.tensor([0.0, 1.0])),
    lambda lib, F_: F_.cross_entropy(lib.zeros(2, 3), lib.tensor([0, 1]), weight=lib.ones(4)),
    lambda lib, F_: F_.cross_entropy(lib.zeros(2, 3), lib.tensor([0, 1]).int()),
    lambda lib, F_: F_.cross_entropy(lib.zeros(2, 3), lib.zeros(2, 3).long()),
    lambda lib, F_: F_.nll_loss(lib.zeros(2, 3), lib.tensor([0, -5])),
    lambda lib, F_: F_.binary_cross_entropy_with_logits(lib.zeros(2, 3), lib.zeros(3)),
    lambda lib, F_: F_.softmax(lib.tensor([1, 2]), 0),
    lambda lib, F_: F_.log_softmax(lib.zeros(2, 3), 2),
    lambda lib, F_: F_.gelu(lib.zeros(2), approximate="foo"),
])
def test_loss_errors_match_torch(case):
    def msg(lib):
        with pytest.raises(Exception) as info:
            case(lib, _lib_F(lib))
        return type(info.value), str(info.value).replace("minitorch.", "torch.")
    assert msg(minitorch) == msg(torch)


def test_legacy_reduction_args():
    with pytest.warns(UserWarning):
        out = F.mse_loss(minitorch.ones(3), minitorch.zeros(3), size_average=False)
    assert out.item() == 3.0
    assert nn.L1Loss(reduce=False).reduction == "none"


# -- init -----------------------------------------------------------------------------------


def test_calculate_gain_and_fans_match_torch():
    for nl, p in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                  ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert nn.init.calculate_gain(nl, p) == pytest.approx(torch.nn.init.calculate_gain(nl, p))
    for shape in [(3, 4), (8, 3, 5, 5), (2, 6, 7)]:
        assert nn.init._calculate_fan_in_and_fan_out(minitorch.empty(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    for case in [lambda lib: lib.nn.init.calculate_gain("foo"),
                 lambda lib: lib.nn.init.calculate_gain("leaky_relu", True),
                 lambda lib: lib.nn.init.kaiming_uniform_(lib.empty(3)),
                 lambda lib: lib.nn.init.kaiming_normal_(lib.empty(3, 3), mode="fan"),
                 lambda lib: lib.nn.init.eye_(lib.empty(3))]:
        msgs = []
        for lib in (minitorch, torch):
            with pytest.raises(ValueError) as info:
                case(lib)
            msgs.append(str(info.value))
        assert msgs[0] == msgs[1]


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a.mean(), a.std(), a.min(), a.max()


@pytest.mark.parametrize("fn,kw,expect", [
    ("uniform_", {"a": -2.0, "b": 3.0}, ("U", -2.0, 3.0)),
    ("normal_", {"mean": 1.0, "std": 0.5}, ("N", 1.0, 0.5)),
    ("xavier_uniform_", {"gain": 2.0}, ("U", 2.0 * math.sqrt(6 / (200 + 300)))),
    ("xavier_normal_", {}, ("N", 0.0, math.sqrt(2 / (200 + 300)))),
    ("kaiming_uniform_", {"nonlinearity": "relu"}, ("U", math.sqrt(6 / 300))),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, ("U", 1 / math.sqrt(300))),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"},
     ("N", 0.0, math.sqrt(2 / 200))),
    ("kaiming_normal_", {"a": 0.1, "nonlinearity": "leaky_relu"},
     ("N", 0.0, math.sqrt(2 / (1 + 0.01)) / math.sqrt(300))),
])
def test_init_distributions(fn, kw, expect):
    t = minitorch.empty(200, 300, dtype=minitorch.float64)
    out = getattr(nn.init, fn)(t, **kw)
    assert out is t
    mean, std, lo, hi = _stats(t)
    n = t.numel()
    if expect[0] == "U":
        a, b = (expect[1], expect[2]) if len(expect) == 3 else (-expect[1], expect[1])
        assert a <= lo and hi <= b
        assert lo < a + 0.01 * (b - a) and hi > b - 0.01 * (b - a)
        sd = (b - a) / math.sqrt(12)
        assert abs(mean - (a + b) / 2) < 5 * sd / math.sqrt(n)
        assert abs(std - sd) < 0.01 * sd
    else:
        m, s = expect[1], expect[2]
        assert abs(mean - m) < 5 * s / math.sqrt(n)
        assert abs(std - s) < 0.01 * s


def test_init_constant_eye_trunc_and_generator():
    t = minitorch.empty(3, 4)
    assert nn.init.constant_(t, 0.5).tolist() == [[0.5] * 4] * 3
    assert nn.init.zeros_(t).abs().sum().item() == 0.0
    assert nn.init.ones_(t).sum().item() == 12.0
    assert nn.init.eye_(t).numpy().tolist() == np.eye(3, 4).tolist()
    tn = nn.init.trunc_normal_(minitorch.empty(20000, dtype=minitorch.float64), std=1.0,
                               a=-1.0, b=2.0).numpy()
    assert tn.min() >= -1.0 and tn.max() <= 2.0
    ref = torch.nn.init.trunc_normal_(torch.empty(20000, dtype=torch.float64), std=1.0,
                                      a=-1.0, b=2.0).numpy()
    assert abs(tn.mean() - ref.mean()) < 0.03 and abs(tn.std() - ref.std()) < 0.03
    g1, g2 = minitorch.Generator().manual_seed(5), minitorch.Generator().manual_seed(5)
    a = nn.init.kaiming_normal_(minitorch.empty(4, 4), generator=g1)
    b = nn.init.kaiming_normal_(minitorch.empty(4, 4), generator=g2)
    assert np.array_equal(a.numpy(), b.numpy())
    p = nn.Parameter(minitorch.empty(3, 3))
    nn.init.normal_(p)
    assert p.grad_fn is None and p.requires_grad  # filled under no_grad


# -- nn.utils -------------------------------------------------------------------------------


def _grads_pair():
    shapes = [(3, 4), (5,), (2, 2, 2)]
    arrays = [_randn(*s, scale=3.0) for s in shapes]
    mps, tps = [], []
    for a in arrays:
        mp, tp = nn.Parameter(minitorch.tensor(a)), torch.nn.Parameter(torch.tensor(a))
        mp.grad, tp.grad = minitorch.tensor(a * 2), torch.tensor(a * 2)
        mps.append(mp)
        tps.append(tp)
    return mps, tps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    mps, tps = _grads_pair()
    mn = nn.utils.clip_grad_norm_(mps, max_norm, norm_type)
    tn = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    assert mn.item() == pytest.approx(tn.item(), rel=1e-12)
    for a, b in zip(mps, tps):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL)


def test_clip_grad_value_and_errors():
    mps, tps = _grads_pair()
    nn.utils.clip_grad_value_(mps, 1.5)
    torch.nn.utils.clip_grad_value_(tps, 1.5)
    for a, b in zip(mps, tps):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    mp = nn.Parameter(minitorch.ones(2))
    mp.grad = minitorch.tensor([float("nan"), 1.0])
    tp = torch.nn.Parameter(torch.ones(2))
    tp.grad = torch.tensor([float("nan"), 1.0])
    msgs = []
    for fn, p in ((nn.utils.clip_grad_norm_, mp), (torch.nn.utils.clip_grad_norm_, tp)):
        with pytest.raises(RuntimeError) as info:
            fn([p], 1.0, error_if_nonfinite=True)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]
    assert nn.utils.clip_grad_norm_([nn.Parameter(minitorch.ones(2))], 1.0).item() == 0.0


def test_parameters_vector_round_trip():
    m = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    v = nn.utils.parameters_to_vector(m.parameters())
    assert v.shape == (3 * 2 + 2 + 2 + 1,)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    torch.nn.utils.vector_to_parameters(torch.tensor(v.detach().numpy()), tm.parameters())
    np.testing.assert_array_equal(
        torch.nn.utils.parameters_to_vector(tm.parameters()).detach().numpy(),
        v.detach().numpy())
    nn.utils.vector_to_parameters(v * 0 + 1, m.parameters())
    assert all(bool((p == 1).all()) for p in m.parameters())
    assert isinstance(m[0].weight, nn.Parameter) and m[0].weight.shape == (2, 3)
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: int"):
        nn.utils.vector_to_parameters(3, m.parameters())


# -- an end-to-end step -----------------------------------------------------------------


def test_two_layer_training_step_matches_torch():
    """nn.Sequential + CrossEntropyLoss + manual SGD: same losses as PyTorch for 5 steps."""
    losses = {}
    x, y = _randn(16, 10), np.random.randint(0, 4, 16)
    tm = torch.nn.Sequential(torch.nn.Linear(10, 8), torch.nn.ReLU(),
                             torch.nn.Linear(8, 4)).double()
    init = {k: v.numpy().copy() for k, v in tm.state_dict().items()}
    for lib in (minitorch, torch):
        model = lib.nn.Sequential(lib.nn.Linear(10, 8), lib.nn.ReLU(), lib.nn.Linear(8, 4)).double()
        model.load_state_dict({k: lib.tensor(v) for k, v in init.items()})
        loss_fn = lib.nn.CrossEntropyLoss()
        out = []
        for _ in range(5):
            loss = loss_fn(model(lib.tensor(x)), lib.tensor(y))
            model.zero_grad()
            loss.backward()
            lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            with lib.no_grad():
                for p in model.parameters():
                    p -= 0.5 * p.grad
            out.append(loss.item())
        losses[lib.__name__] = out
    np.testing.assert_allclose(losses["minitorch"], losses["torch"], rtol=1e-10)
    assert losses["minitorch"][-1] < losses["minitorch"][0]
