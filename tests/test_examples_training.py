"""The training examples train: each main() runs in a short mode and the loss must fall.

Thresholds were checked with seeds 0..7 (minitorch.manual_seed offset for the lecture
steps, seed= for the others) and hold with a wide margin:

    example (short mode)                    measured (worst of 8 seeds)     asserted
    two_layer_nn / two_layer_module, 30     last/first loss <= 0.22         < 0.35
    two_layer_optim Adam, 100 steps         last/first <= 0.094             < 0.2
    two_layer_optim SGD+momentum, 30        last/first <= 0.021             < 0.05
    two_layer_dataloader, 100 steps         last/first <= 0.31              < 0.5
    rnn_dynamic, 40 steps                   mean last 5 / first 5 <= 0.66   < 0.8
    digits_mlp, 5 epochs                    test accuracy >= 0.919          >= 0.9
                                            last/first epoch loss <= 0.17   < 0.3
    digits_cnn, 3 epochs                    test accuracy >= 0.894          >= 0.85
                                            last/first epoch loss <= 0.25   < 0.4

The full runs (30 epochs: MLP >= 95%, CNN >= 97%) are recorded in docs/tutorial.md.
"""
import gzip
import importlib.util
import io
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minitorch

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# the digits and MNIST examples draw progress bars with tqdm and plots with matplotlib,
# which the examples extra installs (pip install -e ".[examples]"; make does)
needs_extra = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("tqdm", "matplotlib")),
    reason='needs the examples extra: pip install -e ".[examples]"')


def load(name: str):
    if str(EXAMPLES) not in sys.path:  # the examples import their helpers (_requires)
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def falls(losses, factor):
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < factor * losses[0], (losses[0], losses[-1])


# -- the lecture path, steps 4-7 ---------------------------------------------------------------

@pytest.mark.parametrize("name, steps, factor", [
    ("two_layer_nn", 30, 0.35),
    ("two_layer_module", 30, 0.35),
    ("two_layer_optim", 100, 0.2),
    ("two_layer_dataloader", 100, 0.5),
])
def test_lecture_loss_falls(name, steps, factor):
    losses = load(name).main(steps=steps, quiet=True)
    assert len(losses) == steps
    falls(losses, factor)


def test_optim_sgd_momentum():
    falls(load("two_layer_optim").main(steps=30, quiet=True, optimizer="sgd"), 0.05)


def test_sequential_and_custom_module_agree():
    """Same layers created in the same order from the same seed: the same trajectory."""
    a = load("two_layer_nn").main(steps=10, quiet=True)
    b = load("two_layer_module").main(steps=10, quiet=True)
    assert a == pytest.approx(b, rel=1e-4)


def test_demo_prints_loss_and_step_time(capsys):
    load("two_layer_optim").main(steps=51, quiet=False)
    out = capsys.readouterr().out
    assert "step    0" in out and "step   50" in out
    assert "mean time per training step" in out


# -- dynamic graphs ----------------------------------------------------------------------------

def test_rnn_dynamic_learns():
    mod = load("rnn_dynamic")
    result = mod.main(steps=40, quiet=True)
    losses = result["losses"]
    assert len(losses) == 40
    assert all(math.isfinite(v) for v in losses)
    assert sum(losses[-5:]) < 0.8 * sum(losses[:5]), losses
    assert 0.0 <= result["test_acc"] <= 1.0


def test_rnn_graph_grows_with_sequence_length():
    mod = load("rnn_dynamic")
    minitorch.manual_seed(0)
    model = mod.MaxLSTM()
    sizes = [mod.graph_size(model(minitorch.randint(0, 10, (n,))).sum()) for n in (1, 2, 5)]
    assert sizes[0] < sizes[1] < sizes[2]
    assert sizes[2] - sizes[1] == 3 * (sizes[1] - sizes[0])  # the same nodes per time step


# -- the digits --------------------------------------------------------------------------------

@needs_extra
def test_digits_mlp(tmp_path):
    result = load("digits_mlp").main(epochs=5, quiet=True, plot=str(tmp_path / "mlp.png"))
    assert len(result["losses"]) == 5
    falls(result["losses"], 0.3)
    assert result["test_acc"] >= 0.9, result["test_accs"]
    assert (tmp_path / "mlp.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@needs_extra
def test_digits_cnn():
    result = load("digits_cnn").main(epochs=3, quiet=True)
    falls(result["losses"], 0.4)
    assert result["test_acc"] >= 0.85, result["test_accs"]


def test_digits_split_is_fixed():
    mod = load("digits_mlp")
    a, b = mod.digits_split(), mod.digits_split()
    assert (len(a[0]), len(a[1])) == (1437, 360)
    assert a[1].indices == b[1].indices
    assert not set(a[0].indices) & set(a[1].indices)


@needs_extra
def test_digits_save_and_load(tmp_path, capsys):
    path = tmp_path / "mlp.safetensors"
    mod = load("digits_mlp")
    result = mod.main(epochs=1, quiet=False, save=str(path))
    out = capsys.readouterr().out
    assert f"scores {100 * result['test_acc']:.1f}%" in out  # the reloaded model, same score
    state = minitorch.load(str(path))
    assert sorted(state) == ["1.bias", "1.weight", "4.bias", "4.weight"]
    assert tuple(state["1.weight"].shape) == (128, 64)


# -- MNIST from IDX files ----------------------------------------------------------------------

def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file of unsigned bytes (gzipped when the name ends in .gz)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    data = bytes([0, 0, 0x08, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def fake_mnist(root: Path, n_train: int = 320, n_test: int = 80) -> None:
    """Two trivially separable classes: ink in the top half (0) or the bottom half (1)."""
    rng = np.random.default_rng(0)
    for prefix, n, gz in (("train", n_train, True), ("t10k", n_test, False)):
        labels = rng.integers(0, 2, n)
        images = rng.integers(0, 60, (n, 28, 28))
        for i, y in enumerate(labels):
            images[i, 4:14] += 180 * (y == 0)
            images[i, 14:24] += 180 * (y == 1)
        ext = ".gz" if gz else ""
        write_idx(root / f"{prefix}-images-idx3-ubyte{ext}", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte{ext}", labels)


@needs_extra
def test_mnist_idx_trains(tmp_path):
    fake_mnist(tmp_path)
    result = load("mnist_idx").main(str(tmp_path), epochs=2, quiet=True, batch_size=32)
    losses = result["losses"]
    assert len(losses) == 2 * 10
    assert sum(losses[-3:]) / 3 < 0.2 * losses[0], losses
    assert result["test_acc"] >= 0.95


def test_mnist_idx_without_root_explains():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES.parent), env.get("PYTHONPATH", "")])
    run = subprocess.run([sys.executable, str(EXAMPLES / "mnist_idx.py")], capture_output=True,
                         text=True, timeout=60, env=env)
    assert run.returncode == 2
    assert "train-images-idx3-ubyte" in run.stdout and "--root" in run.stdout


# -- the examples extra: tqdm and matplotlib ----------------------------------------------------

def run_without(modules, script, *args):
    """Run ``examples/<script>`` in a fresh interpreter in which ``modules`` cannot be
    imported (a None entry in sys.modules makes ``import`` raise ImportError)."""
    code = (f"import runpy, sys\n"
            f"for m in {list(modules)!r}: sys.modules[m] = None\n"
            f"sys.argv = [{str(EXAMPLES / script)!r}] + {list(args)!r}\n"
            f"runpy.run_path(sys.argv[0], run_name='__main__')\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES.parent), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.mark.parametrize("missing, script, args, needs", [
    (["tqdm", "matplotlib"], "digits_mlp.py", ["--epochs", "1", "--plot", "{png}"],
     "tqdm and matplotlib"),
    (["matplotlib"], "digits_cnn.py", ["--epochs", "1", "--plot", "{png}"], "matplotlib"),
    (["tqdm"], "mnist_idx.py", ["--root", "{tmp}"], "tqdm"),
])
def test_without_the_extra_says_what_to_install(tmp_path, missing, script, args, needs):
    """One line on stderr, exit status 1, no traceback; checked before any training."""
    png = tmp_path / "p.png"
    run = run_without(missing, script, *(a.format(png=png, tmp=tmp_path) for a in args))
    assert run.returncode == 1, run.stderr
    assert run.stdout == ""
    assert run.stderr == f'{script} needs {needs}: pip install -e ".[examples]"\n'
    assert not png.exists()


@needs_extra
def test_matplotlib_is_needed_only_to_plot():
    run = run_without(["matplotlib"], "digits_mlp.py", "--epochs", "1", "--no-plot", "--quiet")
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""


@needs_extra
def test_plot_png(tmp_path):
    mod = load("digits_mlp")
    path = tmp_path / "curves.png"
    mod.plot_curves(str(path), "mlp", [1.0, 0.5, 0.2], [1.1, 0.6, 0.3], [0.5, 0.8, 0.9])
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    assert (width, height) == (1000, 360)
    mod.plot_curves(str(path), "mlp", [], [], [])  # no epochs: empty axes, no error


class _Tty(io.StringIO):
    def isatty(self):
        return True


@needs_extra
def test_progress_bar_only_on_a_terminal(monkeypatch):
    """The examples pass disable=None (quiet: True): tqdm draws only on a terminal."""
    from tqdm import tqdm
    tty, pipe = _Tty(), io.StringIO()
    assert list(tqdm(range(5), desc="epoch 1", file=tty, disable=None, mininterval=0)) \
        == list(range(5))
    assert "epoch 1" in tty.getvalue() and "5/5" in tty.getvalue()
    assert list(tqdm(range(3), file=pipe, disable=None)) == [0, 1, 2]
    assert pipe.getvalue() == ""
    mod = load("digits_mlp")
    monkeypatch.setattr(sys, "stderr", _Tty())
    mod.main(epochs=1, quiet=False)
    assert "epoch  1/1" in sys.stderr.getvalue() and "/45" in sys.stderr.getvalue()
    monkeypatch.setattr(sys, "stderr", _Tty())
    mod.main(epochs=1, quiet=True)
    assert sys.stderr.getvalue() == ""  # --quiet: no bar, even on a terminal
