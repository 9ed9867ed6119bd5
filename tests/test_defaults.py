"""set_default_device / get_default_device / ``with device(...)`` and set_default_dtype /
get_default_dtype, checked against PyTorch: which factories follow the default, which keep
their input's device, and the dtypes inferred under each default dtype."""
import numpy as np
import pytest

import minitorch
from minitorch.device import canonical

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _restore_defaults():
    yield
    minitorch.set_default_device(None)
    minitorch.set_default_dtype(minitorch.float32)
    torch.set_default_device(None)
    torch.set_default_dtype(torch.float32)


# Each case builds a tensor with the module ``m``; ``src`` is a tensor created before the
# default was set (on the cpu).  The same lambda runs on minitorch and on PyTorch.
FACTORIES = {
    "zeros": lambda m, src: m.zeros(2, 3),
    "ones": lambda m, src: m.ones(2),
    "empty": lambda m, src: m.empty(2),
    "full": lambda m, src: m.full((2,), 1.5),
    "rand": lambda m, src: m.rand(2),
    "randn": lambda m, src: m.randn(2, 2),
    "randint": lambda m, src: m.randint(0, 5, (3,)),
    "randperm": lambda m, src: m.randperm(4),
    "arange": lambda m, src: m.arange(5),
    "arange_float": lambda m, src: m.arange(0.0, 1.0, 0.25),
    "linspace": lambda m, src: m.linspace(0, 1, 5),
    "logspace": lambda m, src: m.logspace(0, 1, 3),
    "eye": lambda m, src: m.eye(3),
    "tensor": lambda m, src: m.tensor([1.5, 2.0]),
    "tensor_int": lambda m, src: m.tensor([1, 2]),
    "tensor_of_tensor": lambda m, src: m.tensor(src),
    "as_tensor_np": lambda m, src: m.as_tensor(np.zeros(2, dtype=np.float32)),
    "as_tensor_tensor": lambda m, src: m.as_tensor(src),
    "scalar_tensor": lambda m, src: m.scalar_tensor(1.0),
    "normal_floats": lambda m, src: m.normal(0.0, 1.0, (2,)),
    "zeros_like": lambda m, src: m.zeros_like(src),
    "ones_like": lambda m, src: m.ones_like(src),
    "full_like": lambda m, src: m.full_like(src, 2.0),
    "empty_like": lambda m, src: m.empty_like(src),
    "rand_like": lambda m, src: m.rand_like(src),
    "randn_like": lambda m, src: m.randn_like(src),
    "new_zeros": lambda m, src: src.new_zeros(2),
    "from_numpy": lambda m, src: m.from_numpy(np.zeros(2)),
    "linear_weight": lambda m, src: m.nn.Linear(2, 3).weight,
    "embedding_weight": lambda m, src: m.nn.Embedding(4, 2).weight,
    "layernorm_weight": lambda m, src: m.nn.LayerNorm(3).weight,
    "batchnorm_buffer": lambda m, src: m.nn.BatchNorm1d(3).running_mean,
}


def _torch_follows(case: str) -> bool:
    """Does PyTorch put this factory's result on the default device?"""
    src = torch.ones(2)
    torch.set_default_device("meta")
    try:
        return FACTORIES[case](torch, src).device.type == "meta"
    finally:
        torch.set_default_device(None)


def _kernel_device():
    devs = [d for d in ("cudasim", "cuda") if _avail(d)]
    if not devs:
        pytest.skip("no non-cpu device to default to")
    return devs[0]


def _avail(name):
    from minitorch.device import is_available
    return is_available(name)


@pytest.mark.parametrize("case", sorted(FACTORIES))
def test_set_default_device_matches_torch(case):
    dev = _kernel_device()
    want_default = _torch_follows(case)
    src = minitorch.ones(2)
    minitorch.set_default_device(dev)
    out = FACTORIES[case](minitorch, src)
    minitorch.set_default_device(None)
    assert (out.device.type == dev) == want_default, (case, out.device, want_default)


@pytest.mark.parametrize("case", sorted(FACTORIES))
def test_device_context_manager_matches_torch(case):
    dev = _kernel_device()
    want_default = _torch_follows(case)
    src = minitorch.ones(2)
    with minitorch.device(dev) as d:
        assert d == minitorch.device(dev)
        out = FACTORIES[case](minitorch, src)
    assert (out.device.type == dev) == want_default, (case, out.device, want_default)
    assert minitorch.zeros(1).device.type == "cpu"  # restored on exit


def test_get_default_device_and_reset(device):
    assert str(minitorch.get_default_device()) == str(torch.get_default_device()) == "cpu"
    assert minitorch.get_default_device() == minitorch.device("cpu")
    minitorch.set_default_device(device)
    want = canonical(device)
    assert minitorch.get_default_device() == want
    assert minitorch.zeros(1).device == want
    minitorch.set_default_device(None)
    assert minitorch.get_default_device() == minitorch.device("cpu")
    assert minitorch.zeros(1).device.type == "cpu"


def test_device_context_nesting_restores(device):
    minitorch.set_default_device(device)
    with minitorch.device("cpu"):
        assert minitorch.zeros(1).device.type == "cpu"
        with minitorch.device(device):
            assert minitorch.zeros(1).device.type == device
        assert minitorch.zeros(1).device.type == "cpu"
    assert minitorch.zeros(1).device.type == device


def test_device_context_restores_on_error(device):
    with pytest.raises(ZeroDivisionError):
        with minitorch.device(device):
            1 / 0
    assert minitorch.get_default_device() == minitorch.device("cpu")


def test_set_default_device_errors():
    with pytest.raises(RuntimeError) as mine:
        minitorch.set_default_device("foo")
    with pytest.raises(RuntimeError) as ref:
        torch.set_default_device("foo")
    for words in ("device type at start of device string", "foo"):
        assert words in str(mine.value) and words in str(ref.value)
    assert minitorch.get_default_device() == minitorch.device("cpu")  # unchanged


def test_default_device_values_follow_seed(device):
    """randn on the default device draws what randn(device=...) draws."""
    minitorch.manual_seed(3)
    a = minitorch.randn(5, device=device).tolist()
    minitorch.manual_seed(3)
    minitorch.set_default_device(device)
    b = minitorch.randn(5).tolist()
    assert a == b


def test_model_trains_on_default_device(device):
    minitorch.set_default_device(device)
    minitorch.manual_seed(0)
    model = minitorch.nn.Linear(3, 1)
    x = minitorch.randn(8, 3)
    loss = (model(x) ** 2).mean()
    loss.backward()
    assert model.weight.grad.device.type == device
    assert x.device.type == device


# -- default dtype ----------------------------------------------------------------------------

DTYPE_CASES = {
    "tensor_float": lambda m: m.tensor([1.5]),
    "tensor_int": lambda m: m.tensor([1]),
    "tensor_bool": lambda m: m.tensor([True]),
    "tensor_scalar": lambda m: m.tensor(2.0),
    "tensor_np32": lambda m: m.tensor(np.float32(1.0)),
    "as_tensor_np32": lambda m: m.as_tensor(np.zeros(1, dtype=np.float32)),
    "zeros": lambda m: m.zeros(1),
    "ones": lambda m: m.ones(1),
    "empty": lambda m: m.empty(1),
    "full_int": lambda m: m.full((1,), 2),
    "full_float": lambda m: m.full((1,), 2.0),
    "arange_int": lambda m: m.arange(3),
    "arange_float": lambda m: m.arange(3.0),
    "linspace": lambda m: m.linspace(0, 1, 3),
    "eye": lambda m: m.eye(2),
    "rand": lambda m: m.rand(1),
    "randn": lambda m: m.randn(1),
    "randint": lambda m: m.randint(0, 3, (1,)),
    "linear": lambda m: m.nn.Linear(2, 2).weight,
    "int_times_float": lambda m: m.ones(1, dtype=m.int64) * 1.5,
    "f32_times_float": lambda m: m.ones(1, dtype=m.float32) * 2.0,
}


@pytest.mark.parametrize("default", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("case", sorted(DTYPE_CASES))
def test_default_dtype_matches_torch(case, default):
    torch.set_default_dtype(getattr(torch, default))
    want = str(DTYPE_CASES[case](torch).dtype).replace("torch.", "")
    minitorch.set_default_dtype(getattr(minitorch, default))
    assert minitorch.get_default_dtype() is getattr(minitorch, default)
    got = DTYPE_CASES[case](minitorch).dtype.name
    assert got == want, (case, default, got, want)


def test_default_dtype_on_device(device):
    minitorch.set_default_dtype(minitorch.float64)
    minitorch.set_default_device(device)
    t = minitorch.tensor([1.5]) + minitorch.rand(1)
    assert t.dtype is minitorch.float64 and t.device.type == device


@pytest.mark.parametrize("bad", ["int64", "int32", "bool"])
def test_set_default_dtype_rejects_non_float(bad):
    with pytest.raises(TypeError) as ref:
        torch.set_default_dtype(getattr(torch, bad))
    with pytest.raises(TypeError) as mine:
        minitorch.set_default_dtype(getattr(minitorch, bad))
    assert str(ref.value) in str(mine.value)
    assert minitorch.get_default_dtype() is minitorch.float32


# -- torch.backends flags (no-ops, PyTorch's names and defaults) --------------------------------

def test_backend_flag_defaults_match_torch():
    b, tb = minitorch.backends, torch.backends
    for ours, theirs, attr in ((b.cudnn, tb.cudnn, "enabled"), (b.cudnn, tb.cudnn, "benchmark"),
                               (b.cudnn, tb.cudnn, "benchmark_limit"),
                               (b.cudnn, tb.cudnn, "deterministic"),
                               (b.cudnn, tb.cudnn, "allow_tf32"),
                               (b.cuda.matmul, tb.cuda.matmul, "allow_tf32"),
                               (b.cuda.matmul, tb.cuda.matmul,
                                "allow_fp16_reduced_precision_reduction"),
                               (b.cuda.matmul, tb.cuda.matmul,
                                "allow_bf16_reduced_precision_reduction")):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    for name in ("flash", "mem_efficient", "math", "cudnn"):
        assert getattr(b.cuda, f"{name}_sdp_enabled")() == \
            getattr(tb.cuda, f"{name}_sdp_enabled")(), name
    assert b.mps.is_available() is False and b.mps.is_built() is False
    assert b.cudnn.is_available() is False and b.cudnn.version() is None
    assert b.cuda.is_built() is _avail("cuda")
    assert b.mkldnn.is_available() is False  # honest: minitorch has no oneDNN


def test_backend_submodules_import_like_torch():
    import importlib
    for name in ("cudnn", "cuda", "mps"):
        mod = importlib.import_module(f"minitorch.backends.{name}")
        assert mod is getattr(minitorch.backends, name)
        importlib.import_module(f"torch.backends.{name}")
    from minitorch.backends import base, cpu  # the internal backend package still works
    assert issubclass(cpu.CpuBackend, base.Backend)


def test_cudnn_flags_context_manager_matches_torch():
    b, tb = minitorch.backends, torch.backends
    seen = []
    for mod in (b, tb):
        before = (mod.cudnn.enabled, mod.cudnn.benchmark, mod.cudnn.deterministic)
        with mod.cudnn.flags(enabled=False, benchmark=True, deterministic=True):
            seen.append((mod.cudnn.enabled, mod.cudnn.benchmark, mod.cudnn.deterministic))
        assert (mod.cudnn.enabled, mod.cudnn.benchmark, mod.cudnn.deterministic) == before
    assert seen[0] == seen[1]


def test_flags_are_settable_and_matmul_rejects_typos_like_torch():
    b, tb = minitorch.backends, torch.backends
    old = b.cuda.matmul.allow_tf32
    b.cuda.matmul.allow_tf32 = True
    assert b.cuda.matmul.allow_tf32 is True
    b.cuda.matmul.allow_tf32 = old
    for mod in (b, tb):
        with pytest.raises(AttributeError) as ei:
            mod.cuda.matmul.allow_tf23 = True
        assert "Unknown attribute allow_tf23" in str(ei.value)
    for mod in (b, tb):
        mod.cuda.enable_flash_sdp(False)
        assert mod.cuda.flash_sdp_enabled() is False
        mod.cuda.enable_flash_sdp(True)
        assert mod.cuda.flash_sdp_enabled() is True


def test_flags_change_no_numbers(device):
    """Documented as no-ops: results are bit-identical with every flag flipped."""
    b = minitorch.backends
    a = minitorch.randn(16, 16, device=device)
    ref = (a @ a).tolist()
    b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32 = True, False
    try:
        with b.cudnn.flags(enabled=False, benchmark=True, deterministic=True):
            assert (a @ a).tolist() == ref
    finally:
        b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32 = False, True


def test_import_paths_after_bare_import_minitorch():
    """``import minitorch`` alone makes minitorch.nn.modules.* and minitorch.serialization
    reachable as attributes, as torch.nn.modules.transformer and torch.serialization are."""
    import subprocess
    import sys
    code = ("import minitorch as torch; "
            "assert torch.nn.modules.transformer.Transformer is torch.nn.Transformer; "
            "assert callable(torch.serialization.add_safe_globals); "
            "assert torch.backends.cudnn.enabled is True")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
