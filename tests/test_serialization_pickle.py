"""minitorch.save of whole objects (pickled, tensors as safetensors entries) and
minitorch.load's weights_only rule and allow-list (minitorch.serialization.add_safe_globals /
safe_globals), compared with PyTorch 2.13's behaviour."""
import argparse
import base64
import collections
import io
import os
import pickle

import numpy as np
import pytest

import minitorch
import minitorch.serialization  # noqa: F401  (also reachable as an attribute: test below)
from minitorch.serialization import CheckpointError

safetensors_numpy = pytest.importorskip("safetensors.numpy")


@pytest.fixture(autouse=True)
def _clean_allow_list():
    minitorch.serialization.clear_safe_globals()
    yield
    minitorch.serialization.clear_safe_globals()


class Net(minitorch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = minitorch.nn.Linear(3, 4)
        self.fc2 = minitorch.nn.Linear(4, 2)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())


class Config:
    def __init__(self, lr, name):
        self.lr, self.name = lr, name


class _Boom:
    """Unpickling this would run a shell command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _save(obj) -> bytes:
    buf = io.BytesIO()
    minitorch.save(obj, buf)
    return buf.getvalue()


def _load(data: bytes, **kw):
    return minitorch.load(io.BytesIO(data), **kw)


def _crafted(payload: bytes, tensors=None) -> bytes:
    """A checkpoint whose pickle is ``payload`` (what a hostile file could hold)."""
    meta = {"minitorch.pickle": base64.b64encode(payload).decode(), "minitorch.format_version": "1"}
    return safetensors_numpy.save(tensors or {}, metadata=meta)


def _np(t):
    return t.detach().cpu().numpy()


# -- round trips ---------------------------------------------------------------------------------

def test_whole_model_round_trips_with_weights_only_false(device):
    minitorch.manual_seed(0)
    model = Net().to(device)
    data = _save(model)
    out = _load(data, weights_only=False)
    assert type(out) is Net and out is not model
    x = minitorch.randn(5, 3, device=device)
    np.testing.assert_array_equal(_np(out(x)), _np(model(x)))
    for (k, a), (k2, b) in zip(model.state_dict().items(), out.state_dict().items()):
        assert k == k2 and b.device == a.device and b.dtype is a.dtype
        np.testing.assert_array_equal(_np(a), _np(b))
    assert isinstance(out.fc1.weight, minitorch.nn.Parameter) and out.fc1.weight.requires_grad
    cpu = _load(data, weights_only=False, map_location="cpu")
    assert cpu.fc1.weight.device.type == "cpu"


def test_model_and_optimizer_resume_training_identically(device):
    """Saving {model, optimizer} keeps their shared parameters shared, so training goes on
    exactly as if nothing had been saved."""
    minitorch.manual_seed(0)
    x = minitorch.randn(8, 3, device=device)

    def step(m, o):
        o.zero_grad()
        (m(x) ** 2).mean().backward()
        o.step()

    m1 = Net().to(device)
    o1 = minitorch.optim.Adam(m1.parameters(), lr=0.01)
    step(m1, o1)
    ck = _load(_save({"model": m1, "opt": o1, "epoch": 1}), weights_only=False)
    m2, o2 = ck["model"], ck["opt"]
    assert ck["epoch"] == 1
    assert o2.param_groups[0]["params"][0] is m2.fc1.weight
    for _ in range(3):
        step(m1, o1)
        step(m2, o2)
    for a, b in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(_np(a), _np(b))


def test_shared_tensors_and_values_keep_identity_and_types():
    w = minitorch.randn(2, 2, requires_grad=True)
    obj = {"a": w, "b": [w], "cfg": Config(0.1, "x"), "size": minitorch.Size([2, 3]),
           "dtype": minitorch.float64, "dev": minitorch.device("cpu"), "s": {1, 2}}
    out = _load(_save(obj), weights_only=False)
    assert out["a"] is out["b"][0] and out["a"].requires_grad
    np.testing.assert_array_equal(_np(out["a"]), _np(w))
    assert type(out["size"]) is minitorch.Size and tuple(out["size"]) == (2, 3)
    assert out["dtype"] is minitorch.float64 and out["dev"] == minitorch.device("cpu")
    assert out["cfg"].lr == 0.1 and out["s"] == {1, 2}


def test_state_dicts_stay_pickle_free_safetensors(tmp_path):
    model = Net()
    p = tmp_path / "sd.safetensors"
    minitorch.save(model.state_dict(), p)
    raw = p.read_bytes()
    assert b"minitorch.pickle" not in raw
    flat = safetensors_numpy.load(raw)
    assert sorted(flat) == sorted(model.state_dict())
    assert minitorch.serialization.get_unsafe_globals_in_checkpoint(p) == []


# -- weights_only=True: the rule and the message -----------------------------------------------

def _torch_message(obj_factory):
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save(obj_factory(torch), buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError) as ei:
        torch.load(buf)
    return str(ei.value)


@pytest.mark.parametrize("weights_only", [None, True])
def test_default_load_refuses_a_pickled_model_naming_the_class(weights_only):
    data = _save(Net())
    kw = {} if weights_only is None else {"weights_only": True}
    with pytest.raises(pickle.UnpicklingError) as ei:
        _load(data, **kw)
    msg = str(ei.value)
    ref = _torch_message(lambda torch: {"args": argparse.Namespace(a=1)})
    name = f"{Net.__module__}.{Net.__qualname__}"
    # the same sentences as PyTorch's, with minitorch's names
    for words in ("Weights only load failed", "`weights_only` set to `False` will likely "
                  "succeed", "arbitrary code execution", "Unsupported global: GLOBAL",
                  "was not an allowed global by default", "context manager to allowlist this "
                  "global if you trust this class/function"):
        assert words in ref, words
        assert words in msg, words
    assert f"GLOBAL {name} was not" in msg
    assert f"serialization.add_safe_globals([{name}])" in msg
    assert f"serialization.safe_globals([{name}])" in msg


def test_allow_listing_every_class_loads_with_weights_only():
    data = _save(Net())
    lin = minitorch.nn.Linear
    # like PyTorch: allowing the outer class only moves the error to the next class it needs
    with minitorch.serialization.safe_globals([Net]):
        with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL minitorch\.nn\..*Linear"):
            _load(data)
    with minitorch.serialization.safe_globals([Net, lin]):
        out = _load(data)
    assert type(out) is Net and type(out.fc1) is lin
    with pytest.raises(pickle.UnpicklingError):  # the context manager removed them again
        _load(data)
    minitorch.serialization.add_safe_globals([Net, lin])
    assert type(_load(data)) is Net


def test_allow_list_matches_torch_api():
    torch = pytest.importorskip("torch")
    s = minitorch.serialization
    for name in ("add_safe_globals", "safe_globals", "get_safe_globals", "clear_safe_globals",
                 "get_unsafe_globals_in_checkpoint"):
        assert hasattr(torch.serialization, name) and hasattr(s, name), name
    s.add_safe_globals([Config, (Net, "other.Net")])
    assert s.get_safe_globals() == [Config, (Net, "other.Net")]
    with s.safe_globals([argparse.Namespace]):
        assert argparse.Namespace in s.get_safe_globals()
    assert s.get_safe_globals() == [Config, (Net, "other.Net")]
    s.clear_safe_globals()
    assert s.get_safe_globals() == []
    with pytest.raises(TypeError):
        s.add_safe_globals(Config)  # a list is required


def test_tuple_form_names_the_pickled_global():
    data = _save({"cfg": Config(0.5, "a")})
    name = f"{Config.__module__}.{Config.__qualname__}"
    with minitorch.serialization.safe_globals([(Config, name)]):
        assert _load(data)["cfg"].lr == 0.5
    with minitorch.serialization.safe_globals([(Config, "elsewhere.Config")]):
        with pytest.raises(pickle.UnpicklingError, match=name):
            _load(data)


def test_builtin_containers_load_by_default_as_in_torch():
    torch = pytest.importorskip("torch")
    obj = {"s": {1, 2}, "c": 2j, "b": bytearray(b"ab"), "cnt": collections.Counter("aab"),
           "t": minitorch.ones(2)}
    out = _load(_save(obj))  # weights_only=True
    assert out["s"] == {1, 2} and out["c"] == 2j and out["b"] == bytearray(b"ab")
    assert out["cnt"] == collections.Counter("aab")
    buf = io.BytesIO()
    torch.save({k: (torch.ones(2) if k == "t" else v) for k, v in obj.items()}, buf)
    buf.seek(0)
    ref = torch.load(buf)  # PyTorch accepts the same values by default
    assert ref["s"] == out["s"] and ref["cnt"] == out["cnt"]


def test_get_unsafe_globals_in_checkpoint_matches_torch():
    torch = pytest.importorskip("torch")
    ours = minitorch.serialization.get_unsafe_globals_in_checkpoint(
        io.BytesIO(_save({"args": argparse.Namespace(a=1), "w": minitorch.ones(1)})))
    buf = io.BytesIO()
    torch.save({"args": argparse.Namespace(a=1), "w": torch.ones(1)}, buf)
    buf.seek(0)
    assert ours == torch.serialization.get_unsafe_globals_in_checkpoint(buf) == \
        ["argparse.Namespace"]
    names = minitorch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(_save(Net())))
    assert f"{Net.__module__}.Net" in names and "minitorch.nn.linear.Linear" in names


# -- nothing from the file runs --------------------------------------------------------------------

def test_hostile_pickle_never_runs_without_weights_only_false(tmp_path):
    marker = tmp_path / "pwned"
    for proto in (0, 2, 4):
        data = _crafted(pickle.dumps({"x": _Boom(marker)}, protocol=proto))
        with pytest.raises(pickle.UnpicklingError, match="GLOBAL (posix|os|nt).system"):
            _load(data)
        with minitorch.serialization.safe_globals([Config, Net]):  # others allowed: still no
            with pytest.raises(pickle.UnpicklingError, match="system"):
                _load(data)
        names = minitorch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))
        assert any(n.endswith(".system") for n in names), names
    assert not marker.exists()


def test_save_of_hostile_object_then_load_false_does_run(tmp_path):
    """weights_only=False is ordinary pickle: documented as for trusted files only."""
    marker = tmp_path / "ran"
    data = _save({"x": _Boom(marker)})
    with pytest.raises(pickle.UnpicklingError):
        _load(data)
    assert not marker.exists()
    _load(data, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("pid,msg", [
    (("tensor", "missing", False, False, "cpu"), "references tensor 'missing'"),
    (("tensor", 3, False, False, "cpu"), "malformed tensor id"),
    (("dtype", "complex128"), "unknown dtype"),
    (("exec", "print(1)"), "unknown persistent id"),
    ("tensor", "unknown persistent id"),
])
def test_malformed_persistent_ids_are_clean_errors(pid, msg):
    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return pid if obj == "X" else None
    buf = io.BytesIO()
    P(buf, 4).dump(["X"])
    with pytest.raises((pickle.UnpicklingError, CheckpointError), match=msg):
        _load(_crafted(buf.getvalue()))


def test_bad_base64_payload_is_a_checkpoint_error():
    data = safetensors_numpy.save({}, metadata={"minitorch.pickle": "@@not base64@@"})
    with pytest.raises(CheckpointError, match="not valid base64"):
        _load(data)


def test_lambda_cannot_be_saved():
    with pytest.raises(TypeError, match=r"cannot save value of type function at \['f'\]"):
        _save({"f": lambda x: x})


def test_serialization_module_is_an_attribute_after_import_minitorch():
    import subprocess
    import sys
    code = ("import minitorch as torch; torch.serialization.add_safe_globals([dict]); "
            "print(torch.serialization.get_safe_globals())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[<class 'dict'>]"


def _build_on_persistent(pid, state) -> bytes:
    """A stream that loads a persistent object and applies BUILD(state) to it."""
    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return pid if obj == "P" else None
    buf = io.BytesIO()
    P(buf, 2).dump("P")
    head = buf.getvalue()[:-1]                    # drop STOP
    body = pickle.dumps(state, 2)[2:-1]           # drop PROTO and STOP
    return head + body + pickle.BUILD + pickle.STOP


@pytest.mark.parametrize("pid,state", [
    (("dtype", "float32"), (None, {"name": "hacked"})),
    (("tensor", "w", False, False, "cpu"), (None, {"_requires_grad": True})),
    (("device", "cpu"), (None, {"type": "cuda"})),
])
def test_build_on_minitorch_objects_is_refused(pid, state):
    """BUILD sets attributes on the object under it: on the shared float32 singleton it
    would rename minitorch.float32 for the whole process (it did, before the check)."""
    data = _crafted(_build_on_persistent(pid, state), {"w": np.zeros(2, np.float32)})
    with pytest.raises(pickle.UnpicklingError, match="BUILD"):
        _load(data)
    assert minitorch.float32.name == "float32"
    with minitorch.serialization.safe_globals([Config, Net]):
        with pytest.raises(pickle.UnpicklingError, match="BUILD"):
            _load(data)
    assert minitorch.float32.name == "float32"
