"""The cpu backend's branch-free ``where`` of a float array and a scalar (issue 12: ReLU's
backward and masked_fill on large arrays): bit for bit np.where's result -- signed zeros,
infinities, NaN payloads, broadcasting, dtypes -- and ReLU's gradient against torch."""
import numpy as np
import pytest

from minitorch.backends.cpu import CpuBackend

rng = np.random.default_rng(0)
be = CpuBackend()


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", [((64, 80), (64, 80)), ((64, 80), (1, 80)),
                                    ((1, 80), (64, 80)), ((70, 90), (90,))])
@pytest.mark.parametrize("s", [0, 0.0, -0.0, -np.inf, np.nan, 1.5, 2.25, 1e300, True, 3])
@pytest.mark.parametrize("scalar_first", [True, False])
def test_where_scalar_matches_numpy_bits(dt, shapes, s, scalar_first):
    shp_c, shp_a = shapes
    a = rng.standard_normal(shp_a).astype(dt)
    a.flat[:6] = [np.nan, -0.0, np.inf, -np.inf, 0.0, -np.nan]
    c = rng.random(shp_c) > 0.5
    with np.errstate(all="ignore"):
        want = np.where(c, s, a) if scalar_first else np.where(c, a, s)
    got = be.where(c, s, a) if scalar_first else be.where(c, a, s)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))
    from minitorch.backends.cpu import _where_bits
    exact = not isinstance(s, bool) and not (dt == np.float32 and s == 1e300)
    if c.size >= 4096:  # the branch-free path took it (and only where it is exact)
        assert (_where_bits(c, a, s, scalar_first) is not None) == exact


def test_relu_backward_matches_torch_on_special_values():
    torch = pytest.importorskip("torch")
    import minitorch as mt
    x = rng.standard_normal((64, 100)).astype(np.float32)
    x.flat[:4] = [0.0, -0.0, np.nan, -1.0]
    g = rng.standard_normal((64, 100)).astype(np.float32)
    g.flat[:6] = [np.inf, np.nan, 1.0, np.inf, -0.0, np.nan]
    a = mt.tensor(x, requires_grad=True)
    a.relu().backward(mt.tensor(g))
    b = torch.tensor(x, requires_grad=True)
    b.relu().backward(torch.tensor(g))
    np.testing.assert_array_equal(a.grad.numpy().view(np.uint8), b.grad.numpy().view(np.uint8))
