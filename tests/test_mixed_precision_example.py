"""examples/mixed_precision.py runs in a short mode: both runs learn, autocast + GradScaler
follows float32 closely, float16 activations take half the bytes (issue 18)."""
import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mixed_precision.py"


def test_mixed_precision_example_short():
    spec = importlib.util.spec_from_file_location("_example_mixed_precision", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    r = mod.main(epochs=2, quiet=True)
    fp32, amp = r["fp32"], r["amp"]
    for run in (fp32, amp):
        assert run["losses"][-1] < 0.6 * run["losses"][0]
        assert run["test_accs"][-1] > 0.8
    assert abs(amp["losses"][-1] - fp32["losses"][-1]) < 0.05 * fp32["losses"][-1]
    assert amp["logits_dtype"] == "minitorch.float16" and amp["loss_dtype"] == "minitorch.float32"
    assert amp["weight_dtype"] == "minitorch.float32"
    b32 = sum(n * es for n, es in fp32["activations"].values())
    b16 = sum(n * es for n, es in amp["activations"].values())
    assert b16 * 2 == b32
