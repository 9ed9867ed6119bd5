"""minitorch.save / minitorch.load: safetensors checkpoints, no pickle (pickled whole objects:
tests/test_serialization_pickle.py).

Round trips (flat and nested, every dtype, odd shapes and layouts, Python value types),
interoperability with safetensors.torch in both directions, and crafted files that must be
rejected cleanly without running anything."""
import collections
import io
import json
import math
import os
import pickle
import struct
import warnings

import numpy as np
import pytest

import minitorch
from minitorch.device import is_available
from minitorch.serialization import CheckpointError

safetensors_numpy = pytest.importorskip("safetensors.numpy")

DTYPES = [minitorch.float32, minitorch.float64, minitorch.int64, minitorch.int32, minitorch.bool]


def make(shape, dtype, transposed=False):
    """A tensor with distinct values (a transposed view when asked)."""
    if transposed:
        shape = tuple(reversed(shape))
    n = int(np.prod(shape)) if shape else 1
    a = (np.arange(n) * 7 % 11 - 3).reshape(shape)
    if dtype is minitorch.bool:
        a = a > 0
    elif dtype.is_floating_point:
        a = a / 3.0
    t = minitorch.tensor(a, dtype=dtype)
    return t.t() if transposed else t


def assert_same(a, b, where="obj"):
    """Exact structural equality: same types (list vs tuple, int vs bool vs float), same key
    types and order, tensors with the same dtype, shape and values."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, minitorch.Tensor):
        assert a.dtype is b.dtype, f"{where}: {a.dtype} != {b.dtype}"
        assert tuple(a.shape) == tuple(b.shape), f"{where}: {a.shape} != {b.shape}"
        assert a.requires_grad == b.requires_grad, where
        assert a.device == b.device, where
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy(),
                                      err_msg=where)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()), f"{where}: keys {list(a)} != {list(b)}"
        for (ka, va), kb in zip(a.items(), b.keys()):
            assert_same(ka, kb, f"{where} key {ka!r}")
            assert_same(va, b[kb], f"{where}[{ka!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.fixture(params=["path", "pathlib", "fileobj", "bytesio"])
def roundtrip(request, tmp_path):
    """save then load through a path (str or pathlib), a real binary file or io.BytesIO."""
    def rt(obj, **load_kwargs):
        p = tmp_path / "ckpt.safetensors"
        if request.param == "path":
            minitorch.save(obj, str(p))
            return minitorch.load(str(p), **load_kwargs)
        if request.param == "pathlib":
            minitorch.save(obj, p)
            return minitorch.load(p, **load_kwargs)
        if request.param == "fileobj":
            with open(p, "wb") as f:
                minitorch.save(obj, f)
            with open(p, "rb") as f:
                return minitorch.load(f, **load_kwargs)
        buf = io.BytesIO()
        minitorch.save(obj, buf)
        buf.seek(0)
        return minitorch.load(buf, **load_kwargs)
    return rt


def to_bytes(obj) -> bytes:
    buf = io.BytesIO()
    minitorch.save(obj, buf)
    return buf.getvalue()


def from_bytes(data: bytes, **kw):
    return minitorch.load(io.BytesIO(data), **kw)


# ---------------------------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("shape,transposed", [((), False), ((0,), False), ((2, 0, 3), False),
                                              ((5,), False), ((3, 4), False), ((3, 4), True),
                                              ((2, 3, 4), False)],
                         ids=["0d", "empty", "empty3d", "vec", "mat", "transposed", "3d"])
def test_tensor_roundtrip_every_dtype_and_layout(roundtrip, dtype, shape, transposed):
    t = make(shape, dtype, transposed)
    if transposed:
        assert not t.is_contiguous()
    out = roundtrip({"x": t})
    assert_same({"x": t}, out)
    assert out["x"].is_contiguous()


def test_flat_state_dict_roundtrip_keeps_order_and_ordereddict(roundtrip):
    sd = collections.OrderedDict()
    for i, name in enumerate(["z.weight", "a.bias", "m.0.running_mean", "m.0.num_batches"]):
        sd[name] = make((2, i + 1), DTYPES[i % len(DTYPES)])
    out = roundtrip(sd)
    assert_same(sd, out)
    plain = dict(sd)
    assert_same(plain, roundtrip(plain))


def test_flat_state_dict_uses_its_own_keys_as_tensor_names():
    sd = {"0.weight": make((3, 2), minitorch.float32), "0.bias": make((3,), minitorch.float32)}
    names = set(safetensors_numpy.load(to_bytes(sd)))
    assert names == {"0.weight", "0.bias"}


def test_nested_checkpoint_roundtrip(roundtrip):
    w, b = make((3, 2), minitorch.float32), make((3,), minitorch.float32)
    ckpt = {
        "model": collections.OrderedDict([("fc.weight", w), ("fc.bias", b)]),
        "optimizer": {
            "state": {0: {"step": minitorch.tensor(3.0), "exp_avg": make((3, 2), minitorch.float32),
                          "exp_avg_sq": make((3, 2), minitorch.float32)},
                      1: {"step": minitorch.tensor(3.0), "exp_avg": make((3,), minitorch.float32),
                          "exp_avg_sq": make((3,), minitorch.float32)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                              "weight_decay": 0, "amsgrad": False, "maximize": False,
                              "foreach": None, "capturable": False, "differentiable": False,
                              "fused": None, "params": [0, 1]}],
        },
        "epoch": 3,
        "best_loss": 0.125,
        "rng": minitorch.get_rng_state(),
        "note": "run #1 – ünïcode ✓",
    }
    out = roundtrip(ckpt)
    assert_same(ckpt, out)
    assert type(out["optimizer"]["param_groups"][0]["betas"]) is tuple
    assert list(out["optimizer"]["state"].keys()) == [0, 1]
    minitorch.set_rng_state(out["rng"])  # the restored RNG state is usable


def test_nested_tensor_names_are_path_like():
    ckpt = {"model": {"fc.weight": make((2, 2), minitorch.float32)},
            "optimizer": {"state": {0: {"exp_avg": make((2, 2), minitorch.float32)}}}}
    names = set(safetensors_numpy.load(to_bytes(ckpt)))
    assert names == {"model/fc.weight", "optimizer/state/0/exp_avg"}


def test_python_value_types_are_preserved(roundtrip):
    obj = {
        1: "int key", "1": "str key", 2.5: "float key", None: "none key",
        "boolkeys": {True: "yes", False: "no"},
        (1, "a", (2.0, None)): "tuple key",
        "list": [1, 2.0, True, None, "s"], "tuple": (1, (2, [3])), "empty": ([], (), {}),
        "ints": [0, -1, 2 ** 70, -(2 ** 63)], "floats": [0.0, -0.0, 1.0, 1e-300, 1e300],
        "special": [float("inf"), float("-inf"), float("nan")],
        "bools": [True, False], "dtype": minitorch.float64, "dev": minitorch.device("cpu"),
        "od": collections.OrderedDict([("b", 1), ("a", 2)]),
    }
    out = roundtrip(obj)
    assert_same(obj, out)
    assert type(out[1]) is str and out[1] == "int key" and out["1"] == "str key"
    assert out["floats"][1] == 0.0 and math.copysign(1, out["floats"][1]) == -1
    assert out["dtype"] is minitorch.float64
    assert [type(k) for k in out["boolkeys"]] == [bool, bool]


@pytest.mark.parametrize("obj", [make((2, 3), minitorch.float64), [make((2,), minitorch.int32),
                                 (make((), minitorch.bool),)], 7, None, "text", {}],
                         ids=["tensor", "list", "int", "none", "str", "emptydict"])
def test_non_dict_roots(roundtrip, obj):
    assert_same(obj, roundtrip(obj))


def test_requires_grad_and_parameter_are_preserved(roundtrip):
    from minitorch.nn import Parameter
    p = Parameter(make((2, 2), minitorch.float32))
    leaf = make((3,), minitorch.float64).requires_grad_()
    out = roundtrip({"p": p, "leaf": leaf, "plain": make((2,), minitorch.float32)})
    assert type(out["p"]) is Parameter and out["p"].requires_grad
    assert out["leaf"].requires_grad and out["leaf"].is_leaf
    assert not out["plain"].requires_grad


def test_numpy_values_roundtrip(roundtrip):
    obj = {"u8": np.arange(6, dtype=np.uint8).reshape(2, 3), "f16": np.array([1.5, -2], np.float16),
           "npint": np.int64(4), "npfloat": np.float32(0.5), "npbool": np.bool_(True)}
    out = roundtrip(obj)
    assert_same(obj["u8"], out["u8"])
    assert_same(obj["f16"], out["f16"])
    # NumPy scalars come back as the Python numbers they hold (documented)
    assert out["npint"] == 4 and type(out["npint"]) is int
    assert out["npfloat"] == 0.5 and type(out["npfloat"]) is float
    assert out["npbool"] is True


def test_name_collisions_and_reserved_names_stay_distinct(roundtrip):
    a, b, c = (make((2,), minitorch.float32) * k for k in (1, 2, 3))
    obj = {"a/b": a, "a": {"b": b}, "__metadata__": {"x": c}}
    assert_same(obj, roundtrip(obj))
    flat = {"__metadata__": a, "x": b}
    assert_same(flat, roundtrip(flat))


def test_loaded_tensors_are_writable_and_independent():
    t = make((4,), minitorch.float32)
    data = to_bytes({"a": t, "b": t})
    out = from_bytes(data)
    out["a"].add_(1.0)
    np.testing.assert_array_equal(out["b"].numpy(), t.numpy())
    np.testing.assert_array_equal(out["a"].numpy(), t.numpy() + 1)


def test_save_to_path_overwrites_and_leaves_no_temp_file(tmp_path):
    p = tmp_path / "m.safetensors"
    minitorch.save({"a": minitorch.zeros(2)}, p)
    minitorch.save({"b": minitorch.ones(3)}, p)
    assert list(minitorch.load(p)) == ["b"]
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]


def test_weights_only_false_behaves_the_same(tmp_path):
    p = tmp_path / "m.safetensors"
    minitorch.save({"a": minitorch.arange(3)}, p)
    assert_same(minitorch.load(p, weights_only=False), minitorch.load(p))


# ---------------------------------------------------------------------------------------------
# map_location
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ml", ["cpu", minitorch.device("cpu"), {"cpu": "cpu"},
                                lambda t, loc: t, lambda t, loc: None],
                         ids=["str", "device", "dict", "callable", "callable-none"])
def test_map_location_cpu_forms(ml):
    obj = {"a": make((2, 3), minitorch.float32), "n": 1}
    out = from_bytes(to_bytes(obj), map_location=ml)
    assert_same(obj, out)


def test_map_location_bad_type():
    with pytest.raises(TypeError, match="map_location"):
        from_bytes(to_bytes({"a": minitorch.zeros(1)}), map_location=3)


def test_map_location_unknown_device():
    with pytest.raises(RuntimeError, match="device"):
        from_bytes(to_bytes({"a": minitorch.zeros(1)}), map_location="tpu")


@pytest.mark.skipif(not is_available("cudasim"), reason="cudasim device not available")
def test_device_is_restored_and_map_location_overrides():
    t = make((2, 3), minitorch.float32).to("cudasim")
    data = to_bytes({"a": t})
    assert from_bytes(data)["a"].device == minitorch.device("cudasim:0")
    assert from_bytes(data, map_location="cpu")["a"].device == minitorch.device("cpu")
    assert from_bytes(data, map_location={"cudasim:0": "cpu"})["a"].device == "cpu"
    np.testing.assert_array_equal(from_bytes(data, map_location="cpu")["a"].numpy(),
                                  t.cpu().numpy())


# ---------------------------------------------------------------------------------------------
# what save refuses
# ---------------------------------------------------------------------------------------------

class Custom:
    pass


def test_unpicklable_values_raise_typeerror_naming_the_path():
    # values outside the structure format are pickled (tests/test_serialization_pickle.py);
    # one that cannot be pickled either still raises, naming where it sits
    with pytest.raises(TypeError) as ei:
        to_bytes({"model": {"fn": lambda x: x}})
    assert "cannot save value of type function at ['model']['fn']" in str(ei.value)
    assert "cannot be pickled either" in str(ei.value)


@pytest.mark.parametrize("obj,default_ok", [
    ({"cfg": [1, Custom()]}, False),
    ({0: {1, 2}}, True),          # set: allowed by default, as in PyTorch
    ({"b": b"raw"}, True),
    ({"c": 1j}, True),            # complex: allowed by default
    (print, False),
    ({minitorch.zeros(1): 1}, True),
    ({"a": np.array(["x"])}, False),
])
def test_values_outside_the_format_are_pickled(obj, default_ok):
    data = to_bytes(obj)
    if default_ok:
        out = from_bytes(data)
    else:
        with pytest.raises(pickle.UnpicklingError, match="weights_only"):
            from_bytes(data)
        out = from_bytes(data, weights_only=False)
    assert type(out) is type(obj)


def test_reference_cycle_round_trips_through_pickle():
    a = {"x": 1}
    a["self"] = a
    out = from_bytes(to_bytes(a))
    assert out["x"] == 1 and out["self"] is out


def test_shared_subobjects_are_not_cycles():
    shared = [1, 2]
    obj = {"a": shared, "b": shared}
    assert_same(obj, from_bytes(to_bytes(obj)))


def test_pickling_is_refused_everywhere(tmp_path):
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(minitorch.zeros(2))
    with pytest.raises(TypeError, match="pickle_module is not supported"):
        minitorch.save({}, tmp_path / "x", pickle_module=pickle)
    minitorch.save({}, tmp_path / "x")
    with pytest.raises(TypeError, match="pickle_module is not supported"):
        minitorch.load(tmp_path / "x", pickle_module=pickle)


def test_text_mode_files_and_bytes_are_rejected(tmp_path):
    with open(tmp_path / "t", "w") as f, pytest.raises(TypeError, match="binary mode"):
        minitorch.save({}, f)
    minitorch.save({}, tmp_path / "t")
    with open(tmp_path / "t", "r", encoding="latin-1") as f, \
            pytest.raises(TypeError, match="binary mode"):
        minitorch.load(f)
    with pytest.raises(TypeError, match="BytesIO"):
        minitorch.load(to_bytes({}))


# ---------------------------------------------------------------------------------------------
# bad files
# ---------------------------------------------------------------------------------------------

def craft(header: dict, body: bytes = b"", declared_len=None) -> bytes:
    """A safetensors-framed file with an arbitrary header."""
    h = json.dumps(header).encode()
    n = len(h) if declared_len is None else declared_len
    return struct.pack("<Q", n) + h + body


def with_structure(structure, tensors=None, extra_meta=None) -> bytes:
    meta = {"minitorch.structure": structure if isinstance(structure, str)
            else json.dumps(structure), "minitorch.format_version": "1"}
    meta.update(extra_meta or {})
    return safetensors_numpy.save(tensors or {}, metadata=meta)


def test_missing_file_names_the_path(tmp_path):
    p = tmp_path / "nope.safetensors"
    with pytest.raises(FileNotFoundError) as ei:
        minitorch.load(p)
    assert str(p) in str(ei.value)
    assert ei.value.filename == str(p)


def test_directory_is_rejected(tmp_path):
    with pytest.raises(IsADirectoryError, match="directory"):
        minitorch.load(tmp_path)


@pytest.mark.parametrize("data,why", [
    (b"", "shorter than the 8-byte header length"),
    (b"\x01\x02", "shorter than the 8-byte header length"),
    (os.urandom(4096), None),
    (b"PK\x03\x04" + b"\x00" * 60, None),                   # a zip (torch.save's format)
    (b"\x80\x04\x95" + b"\x00" * 60, None),                  # a pickle stream
    (struct.pack("<Q", 2 ** 62) + b"{}", "claims to be"),   # huge header length
    (struct.pack("<Q", 50) + b"{}", "truncated"),           # header longer than the file
    (struct.pack("<Q", 4) + b"\xff\xfe{}", "not valid JSON"),
    (craft([1, 2]), "not a JSON object"),
    (craft({"__metadata__": {"a": 1}}), "__metadata__ must map strings to strings"),
    (craft({"a": {"dtype": "F32", "shape": [2 ** 40, 2 ** 40], "data_offsets": [0, 8]}},
           b"\x00" * 8), None),                              # shape claiming huge sizes
    (craft({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 2 ** 60]}},
           b"\x00" * 8), None),                              # offsets past the end
    (craft({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\x00" * 8), None),
    (craft({"a": {"dtype": "PICKLE", "shape": [1], "data_offsets": [0, 1]}}, b"\x00"), None),
    (craft({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
            "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\x00" * 4), None),
])
def test_invalid_files_raise_checkpoint_error(data, why):
    with pytest.raises(CheckpointError) as ei:
        from_bytes(data)
    msg = str(ei.value)
    assert "not a valid minitorch/safetensors checkpoint" in msg
    if why:
        assert why in msg
    assert isinstance(ei.value, ValueError)


def test_truncated_valid_file_is_rejected_at_every_cut():
    good = to_bytes({"w": make((4, 5), minitorch.float32), "b": make((5,), minitorch.int64)})
    from_bytes(good)
    for cut in sorted({1, 7, 8, 9, 20, len(good) // 2, len(good) - 9, len(good) - 1}):
        with pytest.raises(CheckpointError, match="not a valid"):
            from_bytes(good[:cut])


def test_trailing_garbage_is_rejected():
    good = to_bytes({"w": make((4,), minitorch.float32)})
    with pytest.raises(CheckpointError):
        from_bytes(good + b"\x00" * 16)


def test_structure_referencing_a_missing_tensor_names_it():
    data = with_structure({"dict": [[{"str": "w"}, {"tensor": "model/ghost"}]]},
                          {"other": np.zeros(2, np.float32)})
    with pytest.raises(CheckpointError, match=r"\['w'\] references tensor 'model/ghost'"):
        from_bytes(data)


@pytest.mark.parametrize("structure,why", [
    ("{not json", "not valid JSON"),
    ({"pickle": "cos\nsystem\n(S'touch x'\ntR."}, "unknown node type 'pickle'"),
    ({"eval": "__import__('os').system('true')"}, "unknown node type 'eval'"),
    ({"int": "3"}, "int node holds"),
    ({"int": True}, "int node holds"),
    ({"float": "1e5"}, "float node holds"),
    ({"bool": 1}, "bool node holds"),
    ({"str": 5}, "str node holds"),
    ({"none": 0}, "none node holds"),
    ({"dtype": "complex128"}, "unknown dtype"),
    ({"device": "quantum:0"}, "invalid device"),
    ({"list": {"a": 1}}, "list items must be a list"),
    ({"dict": [[{"str": "a"}]]}, "[key, value] pairs"),
    ({"dict": [[{"list": []}, {"int": 1}]]}, "cannot be a dict key"),
    ({"int": 1, "str": "x"}, "unexpected keys"),
    ({"tensor": "w", "code": "x"}, "unexpected keys"),
    ([], "expected a one-tag object"),
    ("[" * 100000 + "]" * 100000, None),
])
def test_malformed_structure_is_rejected(structure, why):
    data = with_structure(structure, {"w": np.zeros(2, np.float32)})
    with pytest.raises(CheckpointError) as ei:
        from_bytes(data)
    if why:
        assert why in str(ei.value)


def test_deeply_nested_structure_is_an_error_not_a_crash():
    n = 50000
    data = with_structure('{"list":[' * n + '{"int":1}' + "]}" * n, {})
    with pytest.raises(CheckpointError, match="nested too deeply|not valid JSON"):
        from_bytes(data)


def test_future_format_version_is_rejected():
    data = with_structure({"none": None}, extra_meta={"minitorch.format_version": "99"})
    with pytest.raises(CheckpointError, match="format '99'"):
        from_bytes(data)


class _Boom:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_payloads_and_code_strings_are_only_data(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Boom(marker), protocol=0).decode("latin-1")
    code = f"os.system('touch {marker}')"
    structure = {"dict": [[{"str": "__reduce__"}, {"str": code}],
                          [{"str": "payload"}, {"str": payload}],
                          [{"str": "__class__"}, {"str": "os.system"}],
                          [{"str": "w"}, {"tensor": "w"}]]}
    raw = np.frombuffer(pickle.dumps(_Boom(marker)), dtype=np.uint8).copy()
    data = with_structure(structure, {"w": raw},
                          extra_meta={"__reduce__": payload, "exec": code, "pickle": payload})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # U8 -> int32 widening
        out = from_bytes(data)
    assert out["__reduce__"] == code and out["payload"] == payload
    assert out["__class__"] == "os.system"
    np.testing.assert_array_equal(out["w"].numpy(), raw.astype(np.int32))
    # metadata that is itself a pickle stream is just invalid JSON
    with pytest.raises(CheckpointError, match="not valid JSON"):
        from_bytes(with_structure(payload, {}))
    # a whole pickle file is not a checkpoint
    with pytest.raises(CheckpointError):
        from_bytes(pickle.dumps({"w": _Boom(marker)}))
    assert not marker.exists()


def test_foreign_file_without_structure_loads_as_flat_dict_in_header_order():
    data = safetensors_numpy.save({"b": np.arange(3, dtype=np.int64),
                                   "a": np.ones((2, 2), np.float32)}, metadata={"x": "y"})
    out = from_bytes(data)
    (n,) = struct.unpack("<Q", data[:8])
    header_order = [k for k in json.loads(data[8:8 + n]) if k != "__metadata__"]
    assert type(out) is dict and list(out) == header_order and set(out) == {"a", "b"}
    assert out["b"].dtype is minitorch.int64 and out["a"].dtype is minitorch.float32


@pytest.mark.parametrize("np_dtype,st_name,expected", [
    (np.uint8, "U8", minitorch.int32),
    (np.int8, "I8", minitorch.int32), (np.int16, "I16", minitorch.int32),
    (np.uint16, "U16", minitorch.int32), (np.uint32, "U32", minitorch.int64),
    (np.uint64, "U64", minitorch.int64)])
def test_foreign_dtypes_widen_exactly_with_a_warning(np_dtype, st_name, expected):
    a = (np.arange(6) * 3).astype(np_dtype).reshape(2, 3)
    data = safetensors_numpy.save({"x": a})
    with pytest.warns(UserWarning, match=f"x \\({st_name} -> {expected.name}\\)"):
        out = from_bytes(data)
    assert out["x"].dtype is expected
    np.testing.assert_array_equal(out["x"].numpy(), a.astype(expected.np))


def test_bfloat16_loads_as_bfloat16():
    # issue 18: F16 and BF16 are dtypes of minitorch now: no widening, no warning
    vals = np.array([1.0, -2.5, 3.140625, 0.0, np.inf], np.float32)  # all exact in bf16
    bits = (vals.view(np.uint32) >> 16).astype("<u2")
    data = craft({"x": {"dtype": "BF16", "shape": [5], "data_offsets": [0, 10]}}, bits.tobytes())
    out = from_bytes(data)
    assert out["x"].dtype is minitorch.bfloat16
    np.testing.assert_array_equal(out["x"].float().numpy(), vals)


def test_uint64_out_of_int64_range_is_rejected():
    data = safetensors_numpy.save({"x": np.array([2 ** 63], np.uint64)})
    with pytest.raises(CheckpointError, match="above the int64 range"):
        from_bytes(data)


@pytest.mark.parametrize("st_name,itemsize", [("F8_E4M3", 1), ("F8_E5M2", 1), ("C64", 8)])
def test_unrepresentable_foreign_dtypes_raise(st_name, itemsize):
    data = craft({"x": {"dtype": st_name, "shape": [2], "data_offsets": [0, 2 * itemsize]}},
                 b"\x00" * (2 * itemsize))
    with pytest.raises(CheckpointError, match=f"'x' has dtype {st_name}"):
        from_bytes(data)


# ---------------------------------------------------------------------------------------------
# interoperability with PyTorch's safetensors
# ---------------------------------------------------------------------------------------------

def _torch_st():
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    return torch, st


TORCH_DTYPES = {"float32": "float32", "float64": "float64", "int64": "int64", "int32": "int32",
                "bool": "bool"}


def test_minitorch_file_loads_in_safetensors_torch(tmp_path):
    torch, st = _torch_st()
    sd = {f"{d.name}.{i}": make(shape, d, tr) for d in DTYPES
          for i, (shape, tr) in enumerate([((), False), ((0, 2), False), ((3, 4), True)])}
    p = tmp_path / "m.safetensors"
    minitorch.save(sd, p)
    loaded = st.load_file(str(p))
    assert set(loaded) == set(sd)
    for k, t in sd.items():
        assert loaded[k].dtype == getattr(torch, t.dtype.name), k
        assert tuple(loaded[k].shape) == tuple(t.shape)
        np.testing.assert_array_equal(loaded[k].numpy(), t.numpy())


def test_nested_minitorch_file_loads_in_safetensors_torch(tmp_path):
    torch, st = _torch_st()
    ckpt = {"model": {"w": make((2, 3), minitorch.float32)}, "epoch": 1}
    p = tmp_path / "ckpt.safetensors"
    minitorch.save(ckpt, p)
    loaded = st.load_file(str(p))
    np.testing.assert_array_equal(loaded["model/w"].numpy(), ckpt["model"]["w"].numpy())


def test_safetensors_torch_file_loads_in_minitorch(tmp_path):
    torch, st = _torch_st()
    g = torch.Generator().manual_seed(0)
    sd = {"f32": torch.randn(3, 4, generator=g), "f64": torch.randn(2, dtype=torch.float64),
          "i64": torch.arange(5), "i32": torch.arange(4, dtype=torch.int32).reshape(2, 2),
          "b": torch.tensor([True, False]), "scalar": torch.tensor(2.5), "empty": torch.zeros(0, 3)}
    p = tmp_path / "t.safetensors"
    st.save_file(sd, str(p))
    out = minitorch.load(p)
    assert set(out) == set(sd)
    for k, t in sd.items():
        assert out[k].dtype.name == str(t.dtype).replace("torch.", ""), k
        np.testing.assert_array_equal(out[k].numpy(), t.numpy())


def test_torch_half_precision_loads_in_its_dtype(tmp_path):
    torch, st = _torch_st()
    x = torch.randn(4, 3)
    p = tmp_path / "h.safetensors"
    st.save_file({"h": x.half(), "bf": x.bfloat16()}, str(p))
    out = minitorch.load(p)
    assert out["h"].dtype is minitorch.float16 and out["bf"].dtype is minitorch.bfloat16
    np.testing.assert_array_equal(out["h"].float().numpy(), x.half().float().numpy())
    np.testing.assert_array_equal(out["bf"].float().numpy(), x.bfloat16().float().numpy())


def test_pytorch_sequential_state_dict_loads(tmp_path):
    torch, st = _torch_st()
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    p = tmp_path / "seq.safetensors"
    st.save_file(tm.state_dict(), str(p))
    sd = minitorch.load(p)
    assert set(sd) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    for k, v in tm.state_dict().items():
        assert sd[k].dtype is minitorch.float32
        np.testing.assert_array_equal(sd[k].numpy(), v.numpy())

    nn = minitorch.nn
    missing = [n for n in ("Sequential", "Linear", "ReLU") if not hasattr(nn, n)]
    if missing:
        pytest.skip(f"minitorch.nn has no {', '.join(missing)} yet: tensors checked, "
                    "outputs not compared")
    mm = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    mm.load_state_dict(sd)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    with torch.no_grad():
        expected = tm(torch.from_numpy(x)).numpy()
    with minitorch.no_grad():
        got = mm(minitorch.tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_minitorch_module_state_dict_roundtrip(tmp_path):
    nn = minitorch.nn
    if not all(hasattr(nn, n) for n in ("Sequential", "Linear", "ReLU")):
        pytest.skip("minitorch.nn has no Sequential/Linear/ReLU yet")
    m1 = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    m2 = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    p = tmp_path / "m.safetensors"
    minitorch.save({"model": m1.state_dict(), "epoch": 2}, p)
    ck = minitorch.load(p)
    m2.load_state_dict(ck["model"])
    x = minitorch.randn(5, 3)
    with minitorch.no_grad():
        np.testing.assert_array_equal(m1(x).numpy(), m2(x).numpy())
    assert ck["epoch"] == 2


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_checkpoint_resume_continues_training_identically(tmp_path, opt_name):
    """Save model + optimizer mid-training, load into fresh objects: the next steps match."""
    nn = minitorch.nn
    optim = pytest.importorskip("minitorch.optim")
    if not all(hasattr(nn, n) for n in ("Sequential", "Linear", "ReLU")) or \
            not hasattr(optim, opt_name):
        pytest.skip(f"minitorch.nn / minitorch.optim.{opt_name} not available yet")
    kw = {"lr": 0.05, "momentum": 0.9} if opt_name == "SGD" else {"lr": 0.01}

    def build():
        m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        return m, getattr(optim, opt_name)(m.parameters(), **kw)

    x, y = minitorch.randn(8, 3), minitorch.randn(8, 2)

    def step(m, o):
        o.zero_grad()
        ((m(x) - y) ** 2).mean().backward()
        o.step()

    m1, o1 = build()
    for _ in range(3):
        step(m1, o1)
    p = tmp_path / "ckpt.safetensors"
    minitorch.save({"model": m1.state_dict(), "optimizer": o1.state_dict(), "epoch": 3}, p)
    ck = minitorch.load(p)
    assert_same(o1.state_dict(), ck["optimizer"])
    m2, o2 = build()
    m2.load_state_dict(ck["model"])
    o2.load_state_dict(ck["optimizer"])
    for _ in range(2):
        step(m1, o1)
        step(m2, o2)
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_pytorch_pickle_file_gets_conversion_hint(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(ValueError, match="looks like a PyTorch torch.save\\(\\) file"):
        minitorch.load(path)


# ---- atomic saves ------------------------------------------------------------------------------
def _leftovers(d):
    return sorted(n for n in os.listdir(d) if n.endswith(".tmp") or ".tmp" in n)


def test_concurrent_saves_to_one_path_both_succeed_with_one_complete_file(tmp_path):
    """Two threads saving to one path used to share the temporary name ``path.tmp<pid>``:
    one truncated the other's file, and the loser's os.replace found nothing."""
    import threading
    p = tmp_path / "ckpt.safetensors"
    objs = [{"w": minitorch.full((256, 256), float(i)), "id": i} for i in range(2)]
    rounds, errors = 30, []
    barrier = threading.Barrier(2)

    def worker(i):
        try:
            for _ in range(rounds):
                barrier.wait()
                minitorch.save(objs[i], p)
        except BaseException as e:  # noqa: BLE001 -- reported below
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    out = minitorch.load(p)
    i = out["id"]
    assert i in (0, 1)
    np.testing.assert_array_equal(out["w"].numpy(), objs[i]["w"].numpy())
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("where,exc", [("fsync", OSError(28, "No space left on device")),
                                       ("write", OSError(28, "No space left on device")),
                                       ("replace", KeyboardInterrupt())])
def test_failed_save_leaves_old_file_intact_and_no_temp_file(tmp_path, monkeypatch, where, exc):
    import minitorch.serialization as ser
    p = tmp_path / "ckpt.safetensors"
    minitorch.save({"old": minitorch.arange(5)}, p)
    before = p.read_bytes()
    if where == "write":  # the disk fills up half way through the data
        real_fdopen = os.fdopen

        class Half:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *a):
                self.f.close()

            def write(self, data):
                self.f.write(data[:len(data) // 2])
                self.f.flush()
                raise exc

            def __getattr__(self, k):
                return getattr(self.f, k)

        monkeypatch.setattr(ser.os, "fdopen", lambda *a, **k: Half(real_fdopen(*a, **k)))
    else:
        def fail(*a, **k):
            raise exc
        monkeypatch.setattr(ser.os, where, fail)
    with pytest.raises(type(exc)):
        minitorch.save({"new": minitorch.ones(100_000)}, p)
    monkeypatch.undo()
    assert p.read_bytes() == before
    assert list(minitorch.load(p)) == ["old"]
    assert _leftovers(tmp_path) == []


def test_save_keeps_permissions_and_follows_symlinks(tmp_path):
    p = tmp_path / "private.safetensors"
    minitorch.save({"a": minitorch.zeros(2)}, p)
    os.chmod(p, 0o600)
    minitorch.save({"b": minitorch.zeros(2)}, p)
    assert (os.stat(p).st_mode & 0o777) == 0o600       # a private checkpoint stays private
    link = tmp_path / "latest.safetensors"
    os.symlink(p.name, link)
    minitorch.save({"c": minitorch.zeros(2)}, link)
    assert os.path.islink(link) and list(minitorch.load(p)) == ["c"]


_KILLED_SAVE = """
import os, signal, sys
import minitorch, minitorch.serialization as ser
def die(*a):
    os.kill(os.getpid(), signal.SIGKILL)   # killed after writing, before the rename
ser.os.replace = die
minitorch.save({"new": minitorch.ones(1000)}, sys.argv[1])
"""


def test_killed_save_keeps_old_file_and_next_save_removes_its_temp_file(tmp_path):
    import subprocess
    import sys
    import minitorch.serialization as ser
    p = tmp_path / "ckpt.safetensors"
    minitorch.save({"old": minitorch.arange(3)}, p)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(p)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == -9, r.stderr
    assert list(minitorch.load(p)) == ["old"]
    (debris,) = _leftovers(tmp_path)
    assert debris.startswith(".ckpt.safetensors.") and debris.endswith(".tmp")
    minitorch.save({"again": minitorch.arange(3)}, p)          # too recent: could be in flight
    assert _leftovers(tmp_path) == [debris]
    old = os.stat(tmp_path / debris).st_mtime - ser._STALE_AFTER_S - 1
    os.utime(tmp_path / debris, (old, old))
    mine = tmp_path / f".ckpt.safetensors.{os.getpid()}-0123456789ab.tmp"  # a live process's
    mine.write_bytes(b"")
    os.utime(mine, (old, old))
    minitorch.save({"again": minitorch.arange(3)}, p)
    assert _leftovers(tmp_path) == [mine.name]
    assert list(minitorch.load(p)) == ["again"]
