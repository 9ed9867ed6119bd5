"""minitorch.nn.modules.* mirrors torch.nn.modules.*: the same class objects as minitorch.nn."""
import importlib
import pytest
import minitorch.nn as nn

SUBS = ["module", "container", "linear", "conv", "activation", "transformer", "loss", "rnn",
        "normalization", "batchnorm", "pooling", "dropout", "sparse", "flatten", "fold"]


@pytest.mark.parametrize("sub", SUBS)
def test_submodule_reexports_real_classes(sub):
    m = importlib.import_module(f"minitorch.nn.modules.{sub}")
    assert m.__all__
    for name in m.__all__:
        assert getattr(m, name) is getattr(nn, name), (sub, name)


def test_names_match_torch_paths():
    torch = pytest.importorskip("torch")
    for sub in SUBS:
        ours = importlib.import_module(f"minitorch.nn.modules.{sub}")
        theirs = importlib.import_module(f"torch.nn.modules.{sub}")
        for name in ours.__all__:
            assert hasattr(theirs, name), (sub, name)
    from minitorch.nn.modules.transformer import TransformerEncoderLayer
    assert TransformerEncoderLayer is nn.TransformerEncoderLayer
