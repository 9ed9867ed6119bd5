"""minitorch.onnx: export checked by ONNX Runtime, import of our files and torch.onnx.export's.

Every export goes through ``onnx.checker.check_model(full_check=True)``; outputs are
compared with minitorch's eager outputs (export) or PyTorch's (import) to 1e-5, at two batch
sizes through ``dynamic_axes``.
"""
import io
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
mo = pytest.importorskip("minitorch.onnx")

ATOL = 1e-5
BATCHES = (2, 5)


# -- minitorch models -------------------------------------------------------------------------
class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1, stride=2)
        self.fc = nn.Linear(6 * 2 * 2, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(F.relu(self.conv2(x)).flatten(1))


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(11, 8)
        self.lstm = nn.LSTM(8, 12, batch_first=True)
        self.drop = nn.Dropout(0.2)   # eval mode in the export: no node
        self.fc = nn.Linear(12, 11)

    def forward(self, idx):
        h, _ = self.lstm(self.emb(idx))
        return self.fc(self.drop(h))


class Block(nn.Module):
    def __init__(self, c, heads, t):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(c), nn.LayerNorm(c)
        self.qkv, self.proj = nn.Linear(c, 3 * c, bias=False), nn.Linear(c, c)
        self.fc1, self.fc2 = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)
        self.register_buffer("mask", minitorch.ones(t, t).tril() == 0)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.reshape(b, t, self.heads, c // self.heads).transpose(1, 2)
                   for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(c // self.heads)
        att = att.masked_fill(self.mask[:t, :t], float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, vocab=11, c=16, heads=2, t=8, layers=2):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, c), nn.Embedding(t, c)
        self.blocks = nn.Sequential(*[Block(c, heads, t) for _ in range(layers)])
        self.ln, self.head = nn.LayerNorm(c), nn.Linear(c, vocab)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(minitorch.arange(t, device=idx.device))
        return self.head(self.ln(self.blocks(x)))


def _model(name):
    minitorch.manual_seed(0)
    if name == "mlp":
        m = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))
        return m, lambda b: minitorch.randn(b, 6)
    if name == "cnn":
        m = CNN()
        with minitorch.no_grad():  # BatchNorm statistics that are not the identity
            m.bn.running_mean.copy_(minitorch.randn(4) * 0.5)
            m.bn.running_var.copy_(minitorch.rand(4) + 0.5)
            m.bn.weight.copy_(minitorch.rand(4) + 0.5)
            m.bn.bias.copy_(minitorch.randn(4))
        return m, lambda b: minitorch.randn(b, 1, 8, 8)
    if name == "lstm":
        return LSTMNet(), lambda b: minitorch.randint(0, 11, (b, 8))
    return GPT(), lambda b: minitorch.randint(0, 11, (b, 8))


def _eager(m, x):
    m.eval()
    with minitorch.no_grad():
        return m(x).detach().cpu().numpy()


def _export(m, x, **kw):
    buf = io.BytesIO()
    mo.export(m, (x,), buf, input_names=["input"], output_names=["output"],
              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, **kw)
    return buf.getvalue()


def _session(data):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


# the native ops each model must be written with (as torch.onnx.export writes them)
NATIVE = {"mlp": {"Gemm": 2, "Relu": 1},
          "cnn": {"Conv": 2, "BatchNormalization": 1, "MaxPool": 1, "Gemm": 1},
          "lstm": {"LSTM": 1, "Sigmoid": 0},
          "gpt": {"LayerNormalization": 5, "Softmax": 2, "Erf": 2}}


@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm", "gpt"])
def test_export_matches_onnxruntime_at_two_batch_sizes(name, tmp_path):
    m, mk = _model(name)
    m.eval()
    data = _export(m, mk(3))
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    inp = model.graph.input[0].type.tensor_type.shape.dim
    assert inp[0].dim_param == "batch"
    out = model.graph.output[0].type.tensor_type.shape.dim
    assert out[0].dim_param == "batch"
    ops = [n.op_type for n in model.graph.node]
    for op, count in NATIVE[name].items():
        assert ops.count(op) == count, (op, ops)
    assert "Cast" not in ops  # no float64 detours of layer norm / erf left
    sess = _session(data)
    for b in BATCHES:
        x = mk(b)
        got = sess.run(None, {"input": x.numpy()})[0]
        ref = _eager(m, x)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, atol=ATOL, rtol=0)


@pytest.mark.parametrize("kind", ["lstm2_bidirectional", "lstm_hx_no_bias", "gru"])
def test_recurrent_layers(kind):
    """Stacked / bidirectional LSTMs become one LSTM node per layer and direction; a GRU
    (no pattern) is written primitive by primitive, unrolled over the traced length."""
    minitorch.manual_seed(0)
    if kind == "gru":
        rnn = nn.GRU(5, 7, batch_first=True)
    elif kind == "lstm_hx_no_bias":
        rnn = nn.LSTM(5, 7, bias=False)
    else:
        rnn = nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True)

    if kind == "lstm_hx_no_bias":
        def f(x, h, c):
            out, (hn, cn) = rnn(x, (h, c))
            return out, hn, cn
        mk = (lambda b: (minitorch.randn(4, b, 5), minitorch.randn(1, b, 7),
                         minitorch.randn(1, b, 7)))
        dyn = {"x": {1: "batch"}, "h": {1: "batch"}, "c": {1: "batch"}}
        names = ["x", "h", "c"]
    else:
        def f(x):
            out, hn = rnn(x)
            return (out, hn[0], hn[1]) if kind != "gru" else (out, hn)
        mk = lambda b: (minitorch.randn(b, 4, 5),)  # noqa: E731
        dyn = {"x": {0: "batch"}}
        names = ["x"]
    buf = io.BytesIO()
    model = mo.export(f, mk(3), buf, input_names=names, dynamic_axes=dyn)
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("LSTM") == {"gru": 0, "lstm_hx_no_bias": 1}.get(kind, 4), ops
    sess = _session(buf.getvalue())
    for b in BATCHES:
        xs = mk(b)
        got = sess.run(None, {n: x.numpy() for n, x in zip(names, xs)})
        with minitorch.no_grad():
            ref = f(*xs)
        for g, r in zip(got, ref):
            np.testing.assert_allclose(g, r.numpy(), atol=ATOL, rtol=0)


def test_fused_attention_primitive():
    def f(q, k, v, mask):
        return (F.scaled_dot_product_attention(q, k, v, is_causal=True),
                F.scaled_dot_product_attention(q, k, v, attn_mask=mask))

    mk = lambda b: (minitorch.randn(b, 2, 5, 4), minitorch.randn(b, 2, 6, 4),  # noqa: E731
                    minitorch.randn(b, 2, 6, 3), minitorch.randn(5, 6))
    names = ["q", "k", "v", "mask"]
    buf = io.BytesIO()
    mo.export(f, mk(2), buf, input_names=names,
              dynamic_axes={"q": {0: "batch"}, "k": {0: "batch"}, "v": {0: "batch"}})
    sess = _session(buf.getvalue())
    for b in BATCHES:
        xs = mk(b)
        got = sess.run(None, {n: x.numpy() for n, x in zip(names, xs)})
        for g, r in zip(got, f(*xs)):
            np.testing.assert_allclose(g, r.numpy(), atol=ATOL, rtol=0)


def test_gpt_with_dynamic_batch_and_sequence_length():
    """Two symbolic dims: reshapes to (b*t, c) and (b, t, heads, c/heads) become shapes
    computed from the input's Shape, arange(t) a Range, the mask slice [:t, :t] dynamic."""
    m, _ = _model("gpt")
    m.eval()
    buf = io.BytesIO()
    mo.export(m, (minitorch.randint(0, 11, (2, 5)),), buf,
              dynamic_axes={"input": {0: "batch", 1: "seq"}, "output": {0: "batch", 1: "seq"}})
    model = onnx.load_from_string(buf.getvalue())
    assert [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim] == \
        ["batch", "seq"]
    assert "Range" in [n.op_type for n in model.graph.node]
    sess = _session(buf.getvalue())
    for b, t in ((2, 5), (3, 8), (1, 2)):
        x = minitorch.randint(0, 11, (b, t))
        got = sess.run(None, {"input": x.numpy()})[0]
        np.testing.assert_allclose(got, _eager(m, x), atol=ATOL, rtol=0)


def test_a_python_constant_that_follows_a_dynamic_axis_is_an_error():
    def f(x):
        return x * minitorch.tensor(np.linspace(0.0, 1.0, x.shape[0], dtype=np.float32))

    with pytest.raises(mo.OnnxExporterError, match="constant computed in Python"):
        mo.export(f, (minitorch.randn(3),), io.BytesIO(), dynamic_axes={"input": [0]})


def test_export_of_a_model_on_the_device(device):
    """Tracing reads the weights on the model's device; the file is the same."""
    m, mk = _model("cnn")
    m.eval()
    m.to(device)
    data = _export(m, mk(2).to(device))
    x = mk(3)
    got = _session(data).run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, _eager(m, x.to(device)), atol=ATOL, rtol=0)


def test_convolution_variants_are_one_conv_node():
    minitorch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(4, 6, 3, padding="same", groups=2), nn.ReLU(),
                      nn.Conv2d(6, 6, 3, padding=2, dilation=2, stride=2, bias=False),
                      nn.Flatten(2), nn.Conv1d(6, 2, 3, padding=1)).eval()
    mk = lambda b: minitorch.randn(b, 4, 7, 7)  # noqa: E731
    data = _export(m, mk(2))
    ops = [n.op_type for n in onnx.load_from_string(data).graph.node]
    assert ops.count("Conv") == 3, ops
    sess = _session(data)
    for b in BATCHES:
        x = mk(b)
        np.testing.assert_allclose(sess.run(None, {"input": x.numpy()})[0], _eager(m, x),
                                   atol=ATOL, rtol=0)


def test_docs_list_every_mapping():
    """docs/onnx.md's tables name every exported primitive and pattern, and every imported
    ONNX operator."""
    from pathlib import Path
    doc = (Path(__file__).resolve().parent.parent / "docs" / "onnx.md").read_text()
    for key in list(mo.PRIMITIVES) + list(mo.PATTERNS):
        assert f"`{key}`" in doc, key
    import re
    imported = set(re.findall(r"[A-Za-z]+", doc.split("## 3. Import")[1]))
    for op in mo.OPS:
        assert op in imported, op


def test_parameters_are_initializers_named_like_the_state_dict():
    m, mk = _model("cnn")
    model = onnx.load_from_string(_export(m, mk(2)))
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    sd = m.state_dict()
    for key in ("conv.weight", "bn.running_mean", "bn.running_var", "bn.weight", "bn.bias",
                "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"):
        np.testing.assert_array_equal(inits[key], sd[key].numpy())
    assert [i.name for i in model.graph.input] == ["input"]  # weights are not inputs


def test_export_restores_training_mode_and_writes_a_path(tmp_path):
    m, mk = _model("mlp")
    m.train()
    path = tmp_path / "mlp.onnx"
    mo.export(m, mk(2), path)
    assert m.training
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["output"]
    # without dynamic_axes every dim is fixed
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2


def test_gelu_is_one_node_at_opset_20():
    m = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 2))
    x = minitorch.randn(3, 4)
    data = _export(m, x, opset_version=20)
    ops = [n.op_type for n in onnx.load_from_string(data).graph.node]
    assert ops == ["Gemm", "Gelu", "Gemm"]
    got = _session(data).run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, _eager(m, x), atol=ATOL, rtol=0)


def test_primitives_without_a_pattern_export_one_by_one():
    """Functions of tensors: each primitive on its own (reshape with a dynamic batch, slicing,
    reductions, cat, where, comparisons, im2col through F.unfold)."""
    def f(x):
        y = x.reshape(x.shape[0], -1)
        z = minitorch.cat([y[:, 1:], y[:, :1] * 2], 1)
        s = z.sum(1, keepdim=True) - z.amax(1, keepdim=True)
        cols = F.unfold(x, 2)
        return minitorch.where(z > 0, z.exp(), -z) / (1 + s.abs()), cols.mean((1,))

    x = minitorch.randn(2, 3, 4, 4)
    buf = io.BytesIO()
    mo.export(f, (x,), buf, dynamic_axes={"input": [0]})
    sess = _session(buf.getvalue())
    for b in BATCHES:
        xb = minitorch.randn(b, 3, 4, 4)
        got = sess.run(None, {"input": xb.numpy()})
        for g, r in zip(got, f(xb)):
            np.testing.assert_allclose(g, r.numpy(), atol=ATOL, rtol=0)


# -- errors of the exporter ------------------------------------------------------------------
def test_an_unmapped_primitive_names_the_op_and_the_line_and_writes_nothing(tmp_path):
    def noisy(x):
        return x + minitorch.rand(x.shape)  # a random draw has no ONNX mapping here

    path = tmp_path / "noisy.onnx"
    with pytest.raises(mo.UnsupportedOperatorError) as e:
        mo.export(noisy, (minitorch.randn(2, 3),), path)
    msg = str(e.value)
    assert "'uniform'" in msg and "opset version 17" in msg
    assert "test_onnx.py:" in msg and "noisy" in msg
    assert not path.exists() and not list(tmp_path.iterdir())


def test_a_graph_that_changes_with_the_batch_size_cannot_be_dynamic():
    def f(x):
        return x[:1] if x.shape[0] == 2 else x[:2]  # Python branch on the size

    with pytest.raises(mo.OnnxExporterError, match="dynamic axis"):
        mo.export(f, (minitorch.randn(2, 3),), io.BytesIO(), dynamic_axes={"input": {0: "b"}})


def test_a_graph_break_is_an_export_error():
    def f(x):
        return x * 2 if x.sum().item() > 0 else x  # reads a value into Python

    with pytest.raises(mo.OnnxExporterError, match="static graph.*graph break"):
        mo.export(f, (minitorch.randn(3),), io.BytesIO())


def test_bad_arguments():
    m, mk = _model("mlp")
    with pytest.raises(ValueError, match="opset versions 15 to 20"):
        mo.export(m, mk(2), io.BytesIO(), opset_version=11)
    with pytest.raises(TypeError, match="tensor or a tuple of tensors"):
        mo.export(m, (3,), io.BytesIO())
    with pytest.raises(ValueError, match="input_names"):
        mo.export(m, mk(2), io.BytesIO(), input_names=["a", "b"])


# -- import: round trips on every device -----------------------------------------------------
@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm", "gpt"])
def test_round_trip_export_load_run(name, device):
    m, mk = _model(name)
    m.eval()
    data = _export(m, mk(3))
    loaded = mo.load(data, device=device)
    assert loaded.input_names == ["input"] and loaded.output_names == ["output"]
    for b in BATCHES:
        x = mk(b)
        got = loaded(x.to(device))
        assert got.device.type == minitorch.device(device).type
        np.testing.assert_allclose(got.cpu().numpy(), _eager(m, x), atol=ATOL, rtol=0)


def test_loaded_model_traces_into_a_graph():
    m, mk = _model("cnn")
    m.eval()
    loaded = mo.load(_export(m, mk(2)))
    x = mk(4)
    g = loaded.to_graph(x)
    assert isinstance(g, minitorch.jit.Graph)
    ops = g.op_counts()
    assert ops.get("im2col_t") == 2 and ops.get("max_pool2d") == 1  # conv2d: im2col_t
    np.testing.assert_allclose(g(x).numpy(), _eager(m, x), atol=ATOL, rtol=0)


# -- import: files written by torch.onnx.export ----------------------------------------------
def _torch_model(torch, name):
    tnn, TF = torch.nn, torch.nn.functional
    torch.manual_seed(0)
    if name == "mlp":
        return (tnn.Sequential(tnn.Linear(6, 16), tnn.ReLU(), tnn.Linear(16, 4)),
                lambda b: torch.randn(b, 6))
    if name.startswith("cnn"):
        class TCNN(tnn.Module):
            def __init__(self):
                super().__init__()
                self.conv = tnn.Conv2d(1, 4, 3, padding=1, bias=False)
                self.bn = tnn.BatchNorm2d(4)
                self.conv2 = tnn.Conv2d(4, 6, 3, padding=1, stride=2)
                self.fc = tnn.Linear(6 * 2 * 2, 3)

            def forward(self, x):
                x = TF.max_pool2d(TF.relu(self.bn(self.conv(x))), 2)
                return self.fc(TF.relu(self.conv2(x)).flatten(1))
        m = TCNN()
        with torch.no_grad():
            m.bn.running_mean.normal_(0, 0.5)
            m.bn.running_var.uniform_(0.5, 1.5)
        return m, lambda b: torch.randn(b, 1, 8, 8)
    if name == "lstm":
        class TLSTM(tnn.Module):
            def __init__(self):
                super().__init__()
                self.emb = tnn.Embedding(11, 8)
                self.lstm = tnn.LSTM(8, 12, batch_first=True)
                self.fc = tnn.Linear(12, 11)

            def forward(self, idx):
                return self.fc(self.lstm(self.emb(idx))[0])
        return TLSTM(), lambda b: torch.randint(0, 11, (b, 8))

    class TBlock(tnn.Module):
        def __init__(self, c=16, heads=2, t=8):
            super().__init__()
            self.heads = heads
            self.ln1, self.ln2 = tnn.LayerNorm(c), tnn.LayerNorm(c)
            self.qkv, self.proj = tnn.Linear(c, 3 * c, bias=False), tnn.Linear(c, c)
            self.fc1, self.fc2 = tnn.Linear(c, 4 * c), tnn.Linear(4 * c, c)
            self.register_buffer("mask", torch.ones(t, t).tril() == 0)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
            q, k, v = (z.reshape(b, t, self.heads, c // self.heads).transpose(1, 2)
                       for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) / math.sqrt(c // self.heads)
            att = att.masked_fill(self.mask[:t, :t], float("-inf")).softmax(-1)
            y = (att @ v).transpose(1, 2).reshape(b, t, c)
            x = x + self.proj(y)
            return x + self.fc2(TF.gelu(self.fc1(self.ln2(x))))

    class TGPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = tnn.Embedding(11, 16), tnn.Embedding(8, 16)
            self.blocks = tnn.Sequential(TBlock(), TBlock())
            self.ln, self.head = tnn.LayerNorm(16), tnn.Linear(16, 11)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            return self.head(self.ln(self.blocks(x)))
    return TGPT(), lambda b: torch.randint(0, 11, (b, 8))


# torch's default exporter (dynamo=True) needs onnxscript, which the onnx extra does not
# install; the TorchScript exporter (dynamo=False) writes the same operators for these models
TORCH_OPS = {"mlp": {"Gemm"}, "cnn": {"Conv", "MaxPool", "Gemm"},
             "cnn_bn": {"Conv", "BatchNormalization", "MaxPool"}, "lstm": {"LSTM", "Gather"},
             "gpt": {"LayerNormalization", "Softmax", "Erf", "Split", "Where", "Range"}}


@pytest.mark.parametrize("name", ["mlp", "cnn", "cnn_bn", "lstm", "gpt"])
def test_torch_exported_models_load_and_match_pytorch(name, device):
    torch = pytest.importorskip("torch")
    m, mk = _torch_model(torch, name)
    m.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # cnn_bn: without constant folding, BatchNormalization stays a node of its own
        torch.onnx.export(m, (mk(2),), buf, dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                          do_constant_folding=name != "cnn_bn")
    data = buf.getvalue()
    ops = {n.op_type for n in onnx.load_from_string(data).graph.node}
    assert TORCH_OPS[name] <= ops, ops
    loaded = mo.load(data, device=device)
    for b in BATCHES:
        x = mk(b)
        with torch.no_grad():
            ref = m(x).numpy()
        got = loaded(minitorch.tensor(x.numpy(), device=device))
        np.testing.assert_allclose(got.cpu().numpy(), ref, atol=ATOL, rtol=0)


def test_torch_exported_operator_zoo_loads_and_matches(device):
    """More of what torch.onnx.export writes: pooling with padding and ceil_mode, Pad,
    activations, reductions, Trilu, ArgMax, slices with steps (and negative ones, from flip),
    Where, Expand."""
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional

    class Zoo(torch.nn.Module):
        def forward(self, x):
            y = TF.avg_pool2d(x, 2, stride=1, padding=1)
            y = TF.pad(y, (1, 2, 0, 1))
            y = (TF.leaky_relu(y, 0.1) + TF.elu(y) + TF.hardtanh(y) + TF.softplus(y)
                 + torch.sigmoid(y) * TF.hardsigmoid(y))
            z = TF.adaptive_avg_pool2d(y, 1).flatten(1)
            w = y.mean((2, 3)) + y.amax((2, 3)) - y.sum(3).min(2).values
            s = torch.cat([z, w], 1)
            a = (s.log_softmax(-1) + s.argmax(-1, keepdim=True).float()
                 + torch.tril(s[:, :, None] * s[:, None, :]).sum(-1))
            t = x[:, :, ::2, 1:6:2].flip(-1).reshape(x.shape[0], -1)
            u = torch.where(t > 0, t.sqrt().clamp(max=1.5), t.abs().neg().exp()) ** 2
            return a, u.expand(2, -1, -1).sum(0), TF.max_pool2d(x, 3, 2, 1, ceil_mode=True)

    m = Zoo().eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (torch.randn(2, 3, 8, 8),), buf, dynamo=False, opset_version=17,
                          input_names=["x"], dynamic_axes={"x": {0: "b"}})
    ops = {n.op_type for n in onnx.load_from_string(buf.getvalue()).graph.node}
    assert {"AveragePool", "Pad", "Elu", "Clip", "HardSigmoid", "Softplus", "Trilu",
            "GlobalAveragePool", "ReduceMean", "ReduceMin", "ArgMax", "Expand"} <= ops, ops
    loaded = mo.load(buf.getvalue(), device=device)
    for b in BATCHES:
        x = torch.randn(b, 3, 8, 8)
        with torch.no_grad():
            ref = m(x)
        got = loaded(minitorch.tensor(x.numpy(), device=device))
        for g, r in zip(got, ref):
            np.testing.assert_allclose(g.cpu().numpy(), r.numpy(), atol=ATOL, rtol=1e-5)


# -- import: errors ----------------------------------------------------------------------------
def _tiny(op="Relu", domain=""):
    h = onnx.helper
    node = h.make_node(op, ["x"], ["y"], name="the_node", domain=domain)
    g = h.make_graph([node], "g", [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
                     [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])])
    opsets = [h.make_opsetid("", 17)] + ([h.make_opsetid(domain, 1)] if domain else [])
    return h.make_model(g, opset_imports=opsets).SerializeToString()


def test_unknown_operators_raise_naming_the_operator():
    assert mo.load(_tiny("Relu"))(minitorch.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]
    with pytest.raises(mo.UnsupportedOperatorError, match="'Hardmax' .*the_node"):
        mo.load(_tiny("Hardmax"))
    with pytest.raises(mo.UnsupportedOperatorError, match="com.example::Evil"):
        mo.load(_tiny("Evil", domain="com.example"))


def test_corrupted_files_raise_value_error(tmp_path):
    m, mk = _model("cnn")
    data = _export(m, mk(2))
    for bad in (data[:len(data) // 2], data[:-3], b"", b"not an onnx file at all",
                np.random.default_rng(0).bytes(300)):
        with pytest.raises(ValueError, match="not a valid ONNX model"):
            mo.load(bad)
    # parses, but a node reads a value nobody defines
    model = onnx.load_from_string(data)
    model.graph.node[1].input[0] = "nowhere"
    with pytest.raises(ValueError, match="onnx.checker"):
        mo.load(model.SerializeToString())
    # weights in an external file are refused, never opened
    model = onnx.load_from_string(data)
    t = model.graph.initializer[0]
    t.data_location = onnx.TensorProto.EXTERNAL
    t.ClearField("raw_data")
    e = t.external_data.add()
    e.key, e.value = "location", "../../etc/passwd"
    path = tmp_path / "ext.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ValueError, match="external file"):
        mo.load(path)


def test_loaded_model_checks_its_inputs():
    m, mk = _model("mlp")
    loaded = mo.load(_export(m, mk(2)))
    with pytest.raises(RuntimeError, match=r"expects shape \[batch, 6\], got \[2, 5\]"):
        loaded(minitorch.randn(2, 5))
    with pytest.raises(RuntimeError, match="expects dtype float32"):
        loaded(minitorch.randn(2, 6, dtype=minitorch.float64))
    with pytest.raises(TypeError, match="takes 1 input"):
        loaded()


def test_minitorch_does_not_import_onnx():
    code = ("import sys, minitorch, minitorch.nn, minitorch.jit\n"
            "bad = [m for m in ('onnx', 'onnxruntime') if m in sys.modules]\n"
            "assert not bad, bad\n"
            "minitorch.onnx\n"
            "assert 'onnx' not in sys.modules  # only export() and load() import it\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_example_trains_exports_and_agrees():
    """examples/onnx_export.py, short: 2 epochs (seeds 0..3 reach 88.9-91.9% test accuracy)."""
    import importlib.util
    from pathlib import Path
    examples = Path(__file__).resolve().parent.parent / "examples"
    if str(examples) not in sys.path:
        sys.path.insert(0, str(examples))
    spec = importlib.util.spec_from_file_location("_example_onnx_export",
                                                  examples / "onnx_export.py")
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    res = ex.main(epochs=2, repeat=1, quiet=True)
    assert res["ops"] == ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten",
                          "Gemm"]
    acc = res["accuracy"]
    assert acc["minitorch"] >= 0.8
    assert acc["onnxruntime"] == acc["minitorch"] == acc["minitorch.onnx.load"]
    assert max(res["max_abs_diff"].values()) < 1e-4
    assert all(v > 0 for v in res["images_per_s"].values())
