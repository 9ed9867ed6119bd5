"""nn.Module bookkeeping, state_dict, hooks, modes, conversion, containers and reprs --
checked against PyTorch itself (same code run with ``lib = minitorch`` and ``lib = torch``)."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import minitorch
import minitorch.nn as nn

torch = pytest.importorskip("torch")


def _net(lib):
    """A small model using parameters, buffers and nested submodules."""
    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(4, 3)
            self.register_buffer("running", lib.zeros(3))
            self.register_buffer("scratch", lib.ones(2), persistent=False)

        def forward(self, x):
            return self.fc(x).relu() + self.running

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.head = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Tanh())
            self.scale = lib.nn.Parameter(lib.ones(1))

        def forward(self, x):
            return self.head(self.block(x)) * self.scale
    return Net()


def _copy_params(src_torch, dst_mt):
    with minitorch.no_grad():
        for (n1, p1), (n2, p2) in zip(src_torch.state_dict().items(), dst_mt.state_dict().items()):
            assert n1 == n2
            p2.copy_(minitorch.tensor(p1.detach().numpy()))


def _message(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value).replace("minitorch.", "torch.")


# -- registration and iteration -----------------------------------------------------------


def test_named_members_match_torch():
    m, t = _net(minitorch), _net(torch)
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in m.named_children()] == [n for n, _ in t.named_children()]
    assert list(m.state_dict()) == list(t.state_dict())
    assert [n for n, _ in m.named_parameters(prefix="net", recurse=False)] == \
        [n for n, _ in t.named_parameters(prefix="net", recurse=False)]
    assert len(list(m.parameters())) == 5 and len(list(m.modules())) == 6
    assert all(isinstance(p, nn.Parameter) for p in m.parameters())


def test_shared_parameters_and_modules_deduplicated():
    for lib in (minitorch, torch):
        lin = lib.nn.Linear(2, 2)
        seq = lib.nn.Sequential(lin, lib.nn.ReLU(), lin)
        assert len(list(seq.parameters())) == 2
        assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
        assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
        assert len(list(seq.named_modules(remove_duplicate=False))) == 4


def test_setattr_getattr_delattr():
    m = nn.Module()
    m.w = nn.Parameter(minitorch.ones(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("b", minitorch.zeros(2))
    m.plain = 3
    assert set(m._parameters) == {"w"} and set(m._modules) == {"sub"}
    assert set(m._buffers) == {"b"} and m.plain == 3
    m.b = minitorch.ones(2)  # assigning a Tensor to a buffer name keeps it a buffer
    assert m._buffers["b"].tolist() == [1.0, 1.0]
    m.w = None  # a parameter slot may be emptied
    assert m._parameters["w"] is None and m.w is None
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'sub'"):
        m.sub
    m.x = nn.Buffer(minitorch.ones(3), persistent=False)
    assert "x" in m._buffers and "x" not in m.state_dict()
    assert type(m.x) is minitorch.Tensor
    assert "w" in dir(m) and "b" in dir(m)


@pytest.mark.parametrize("case", [
    lambda lib: lib.nn.Module().register_buffer("a.b", lib.ones(1)),
    lambda lib: lib.nn.Module().register_buffer("", lib.ones(1)),
    lambda lib: lib.nn.Module().register_buffer(1, lib.ones(1)),
    lambda lib: lib.nn.Module().register_buffer("x", 3),
    lambda lib: lib.nn.Module().register_parameter("x", lib.ones(1)),
    lambda lib: lib.nn.Module().register_parameter("x.y", None),
    lambda lib: lib.nn.Module().add_module("x", 3),
    lambda lib: lib.nn.Module().add_module("x.y", lib.nn.ReLU()),
    lambda lib: lib.nn.Module().register_buffer("training", lib.ones(1)),
    lambda lib: setattr(lib.nn.Linear(2, 2), "weight", lib.ones(2, 2)),
    lambda lib: lib.nn.Linear(2, 2).register_parameter(
        "w", lib.nn.Parameter(lib.ones(2)) * 2),
    lambda lib: lib.nn.Module().train("yes"),
    lambda lib: lib.nn.Module()(1),
    lambda lib: lib.nn.Linear(2, 2).get_submodule("weight"),
    lambda lib: lib.nn.Sequential(lib.nn.ReLU()).get_submodule("1"),
    lambda lib: lib.nn.Sequential(lib.nn.ReLU())[3],
    lambda lib: lib.nn.Sequential(lib.nn.Linear(2, 2)).get_parameter("0.bias2"),
])
def test_registration_errors_match_torch(case):
    assert _message(lambda: case(minitorch)) == _message(lambda: case(torch))


def test_get_submodule_and_parameter():
    m = _net(minitorch)
    assert m.get_submodule("head.0") is m.head[0]
    assert m.get_submodule("") is m
    assert m.get_parameter("block.fc.weight") is m.block.fc.weight
    assert m.get_buffer("block.running") is m.block.running


# -- modes, gradients, conversion ----------------------------------------------------------


def test_train_eval_recursive():
    m = _net(minitorch)
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    m.head.train(False)
    assert m.training and not m.head[1].training


def test_zero_grad_and_requires_grad():
    m = _net(minitorch)
    m(minitorch.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0.0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_double_float_keep_parameter_objects():
    m = _net(minitorch)
    ids = [id(p) for p in m.parameters()]
    m(minitorch.randn(2, 4)).sum().backward()
    assert m.double() is m
    assert [id(p) for p in m.parameters()] == ids
    assert all(p.dtype == minitorch.float64 for p in m.parameters())
    assert all(p.grad.dtype == minitorch.float64 for p in m.parameters())
    assert m.block.running.dtype == minitorch.float64
    out = m(minitorch.randn(2, 4, dtype=minitorch.float64))
    assert out.dtype == minitorch.float64
    m.to(minitorch.float32)
    assert all(p.dtype == minitorch.float32 for p in m.parameters())
    m.to("cpu", dtype=minitorch.float64).cpu()
    assert m.scale.dtype == minitorch.float64 and isinstance(m.scale, nn.Parameter)
    with pytest.raises(TypeError, match="only accepts floating point"):
        m.to(minitorch.int64)


def test_apply_visits_children_first():
    seen = []
    m = _net(minitorch)
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Block", "Linear", "Tanh", "Sequential", "Net"]


def test_deepcopy_is_independent():
    m = _net(minitorch)
    c = copy.deepcopy(m)
    assert isinstance(c.scale, nn.Parameter) and c.scale is not m.scale
    with minitorch.no_grad():
        c.scale.fill_(5.0)
    assert float(m.scale) == 1.0


# -- state dict ---------------------------------------------------------------------------


def test_state_dict_round_trip_and_torch_values():
    t = _net(torch)
    m = _net(minitorch)
    _copy_params(t, m)
    x = np.random.randn(6, 4).astype(np.float32)
    np.testing.assert_allclose(m(minitorch.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    m2 = _net(minitorch)
    res = m2.load_state_dict(m.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    for (k, a), (_, b) in zip(m.state_dict().items(), m2.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), k
    sd = m.state_dict()
    assert not any(v.requires_grad for v in sd.values())
    assert m.state_dict(keep_vars=True)["scale"] is m.scale
    with minitorch.no_grad():  # state_dict shares storage with the module
        sd["scale"].fill_(3.0)
    assert float(m.scale) == 3.0


def _sd_error(lib, mutate, strict=True):
    a, b = _net(lib), _net(lib)
    sd = a.state_dict()
    mutate(lib, sd)
    return b.load_state_dict(sd, strict=strict)


@pytest.mark.parametrize("mutate", [
    lambda lib, sd: sd.pop("block.fc.bias"),
    lambda lib, sd: sd.update({"extra": lib.ones(1), "head.5.weight": lib.ones(1)}),
    lambda lib, sd: (sd.pop("scale"), sd.update({"block.fc.weight2": lib.ones(1)})),
    lambda lib, sd: sd.update({"block.fc.weight": lib.ones(2, 4)}),
    lambda lib, sd: sd.update({"head.0.bias": lib.ones(3), "scale": lib.ones(2)}),
    lambda lib, sd: sd.update({"scale": 3.0}),
])
def test_load_state_dict_errors_match_torch(mutate):
    got = _message(lambda: _sd_error(minitorch, mutate))
    want = _message(lambda: _sd_error(torch, mutate))
    assert got == want


def test_load_state_dict_non_strict_returns_keys():
    def mutate(lib, sd):
        sd.pop("block.fc.bias")
        sd["junk"] = lib.ones(1)
    got = _sd_error(minitorch, mutate, strict=False)
    want = _sd_error(torch, mutate, strict=False)
    assert got.missing_keys == want.missing_keys == ["block.fc.bias"]
    assert got.unexpected_keys == want.unexpected_keys == ["junk"]
    assert repr(got) == repr(want)


def test_load_state_dict_assign_and_type_error():
    m = nn.Linear(2, 2)
    w = minitorch.ones(2, 2)
    m.load_state_dict({"weight": w, "bias": minitorch.zeros(2)}, assign=True)
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    assert m.weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        m.load_state_dict([1, 2])


def test_extra_state_round_trip():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.n = 0

        def get_extra_state(self):
            return {"n": self.n}

        def set_extra_state(self, state):
            self.n = state["n"]
    a, b = M(), M()
    a.n = 7
    sd = a.state_dict()
    assert list(sd) == ["_extra_state"]
    b.load_state_dict(sd)
    assert b.n == 7


# -- hooks and forward bookkeeping ---------------------------------------------------------


def test_forward_hooks_order_and_removal():
    calls = []
    m = nn.Linear(3, 2)
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append("pre"))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(("post", tuple(out.shape))))
    h3 = m.register_forward_pre_hook(lambda mod, args: calls.append("first"), prepend=True)
    m(minitorch.randn(4, 3))
    assert calls == ["first", "pre", ("post", (4, 2))]
    for h in (h1, h2, h3):
        h.remove()
    calls.clear()
    m(minitorch.randn(4, 3))
    assert calls == []


def test_hooks_can_replace_input_and_output():
    m = nn.Identity()
    m.register_forward_pre_hook(lambda mod, args: args[0] * 2)
    m.register_forward_hook(lambda mod, args, out: out + 1)
    assert m(minitorch.tensor([1.0])).tolist() == [3.0]
    k = nn.Identity()
    k.register_forward_pre_hook(lambda mod, args, kwargs: ((args[0] * 10,), kwargs),
                                with_kwargs=True)
    k.register_forward_hook(lambda mod, args, kwargs, out: out - 1, with_kwargs=True)
    assert k(minitorch.tensor([1.0])).tolist() == [9.0]


def test_graph_nodes_remember_their_module():
    seq = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    out = seq(minitorch.randn(2, 3, requires_grad=True))
    assert out.grad_fn._module is seq[1]
    assert out.grad_fn.next_functions[0][0]._module is seq[0]
    from minitorch.autograd.function import _module_stack
    assert _module_stack == [None]
    with pytest.raises(RuntimeError):
        seq(minitorch.randn(2, 5))  # wrong shape: the module stack is unwound
    assert _module_stack == [None]


def test_missing_forward():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required '
                                                  r'"forward" function'):
        nn.Module()(minitorch.ones(1))


# -- containers ----------------------------------------------------------------------------


def test_sequential_indexing_and_editing():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    assert list(sub._modules) == ["1", "2"]  # slicing keeps the names, as in PyTorch
    s.append(nn.Tanh())
    s.insert(0, nn.Identity())
    assert [type(x).__name__ for x in s] == ["Identity", "Linear", "ReLU", "Linear", "Tanh"]
    del s[0]
    assert list(s._modules) == ["0", "1", "2", "3"] and s[0] is a
    s.extend([nn.Sigmoid()])
    assert len(s) == 5
    s[4] = nn.ReLU()
    assert isinstance(s[4], nn.ReLU)
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    assert named.fc is a
    assert isinstance(s.pop(4), nn.ReLU) and len(s) == 4
    assert len(s + nn.Sequential(nn.ReLU())) == 5


def test_module_list_dict_parameter_list():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU())
    ml += [nn.Tanh()]
    ml.insert(1, nn.Identity())
    assert len(ml) == 6 and isinstance(ml[1], nn.Identity) and isinstance(ml[-1], nn.Tanh)
    assert len(list(ml.parameters())) == 6
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert list(ml._modules) == [str(i) for i in range(5)]
    md = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    md["c"] = nn.Tanh()
    assert list(md.keys()) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    assert isinstance(md.pop("b"), nn.ReLU) and list(md) == ["a", "c"]
    pl = nn.ParameterList([minitorch.ones(2), nn.Parameter(minitorch.zeros(3))])
    pl.append(minitorch.ones(1))
    assert len(pl) == 3 and all(isinstance(p, nn.Parameter) for p in pl)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    pd = nn.ParameterDict({"w": minitorch.ones(2)})
    assert isinstance(pd["w"], nn.Parameter) and list(pd.keys()) == ["w"]


# -- reprs ---------------------------------------------------------------------------------


def _build_repr_model(lib):
    nn_ = lib.nn
    return nn_.Sequential(
        nn_.Linear(1000, 100), nn_.ReLU(), nn_.Linear(100, 10, bias=False),
        nn_.Sequential(nn_.LeakyReLU(0.2, inplace=True), nn_.GELU(approximate="tanh")),
        nn_.ModuleList([nn_.ReLU(), nn_.ReLU(), nn_.Sigmoid()]),
        nn_.ModuleDict({"soft": nn_.Softmax(dim=1), "ls": nn_.LogSoftmax(-1)}),
        nn_.Flatten(), nn_.Unflatten(1, (2, 5)), nn_.Identity(), nn_.ELU(2.0),
        nn_.Softplus(beta=2, threshold=10), nn_.SiLU(), nn_.Tanh(), nn_.ReLU6(),
        nn_.Hardtanh(), nn_.PReLU(), nn_.Mish(), nn_.SELU(), nn_.CELU(), nn_.LogSigmoid(),
        nn_.Softmin(1), nn_.MSELoss(), nn_.CrossEntropyLoss(label_smoothing=0.1),
        nn_.BCELoss(), nn_.BCEWithLogitsLoss(), nn_.NLLLoss(), nn_.L1Loss(),
        nn_.SmoothL1Loss(), nn_.HuberLoss(), nn_.KLDivLoss(), nn_.Sequential(),
        nn_.ModuleList())


def test_repr_matches_torch():
    assert repr(_build_repr_model(minitorch)) == repr(_build_repr_model(torch))


def test_parameter_repr_and_semantics():
    p = nn.Parameter(minitorch.tensor([1.0, 2.0]))
    tp = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    assert repr(p) == repr(tp)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    base = minitorch.zeros(3)
    q = nn.Parameter(base, requires_grad=False)
    assert not q.requires_grad
    with minitorch.no_grad():
        q.fill_(2.0)
    assert base.tolist() == [2.0, 2.0, 2.0]  # shares storage with its data
    assert type(p * 2) is minitorch.Tensor
    assert nn.Parameter().shape == (0,)
    pl = nn.ParameterList([minitorch.ones(2)])
    assert repr(pl) == repr(torch.nn.ParameterList([torch.ones(2)])).replace("torch.", "minitorch.")
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(minitorch.tensor([1, 2]))


def test_to_device_moves_data_grads_and_buffers():
    """A cpu-backed stand-in device: parameters keep their identity, data/grad/buffers move."""
    from minitorch.backends.cpu import CpuBackend
    from minitorch.device import register_backend
    register_backend("fakegpu", lambda index: CpuBackend())
    m = _net(minitorch)
    m(minitorch.randn(2, 4)).sum().backward()
    ids = [id(p) for p in m.parameters()]
    before = [p.detach().numpy().copy() for p in m.parameters()]
    assert m.to("fakegpu") is m
    assert [id(p) for p in m.parameters()] == ids
    assert all(str(p.device) == "fakegpu:0" for p in m.parameters())
    assert all(str(p.grad.device) == "fakegpu:0" for p in m.parameters())
    assert str(m.block.running.device) == "fakegpu:0"
    assert str(m.block.scratch.device) == "fakegpu:0"
    for p, b in zip(m.parameters(), before):
        assert np.array_equal(p.detach().numpy(force=True), b)
    out = m(minitorch.randn(3, 4, device="fakegpu"))
    loss = nn.functional.cross_entropy(out, minitorch.tensor([0, 1, 1], device="fakegpu"))
    loss.backward()
    assert str(loss.device) == "fakegpu:0"
    m.cpu()
    assert all(p.device.type == "cpu" for p in m.parameters())
