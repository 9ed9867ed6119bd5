"""Focused regression tests for what tests/programs/ found missing or wrong (issue #19)."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("args", [(2, 3), (torch.Size([2, 3]),), ([1, 2],), ((2, 3),), ()],
                         ids=["sizes", "Size", "list", "tuple-data", "empty"])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_legacy_tensor_new(args, dtype, device):
    # word_language_model's init_hidden: weight.new(nlayers, bsz, nhid).zero_()
    t = torch.ones(2, dtype=getattr(torch, dtype))
    m = minitorch.ones(2, dtype=getattr(minitorch, dtype), device=device)
    margs = tuple(minitorch.Size(a) if isinstance(a, torch.Size) else a for a in args)
    want, got = t.new(*args), m.new(*margs)
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert got.device == m.device
    if args and not isinstance(args[0], (int, torch.Size)):  # data, not sizes
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


def test_legacy_tensor_new_error():
    with pytest.raises(TypeError, match="new()"):
        minitorch.ones(2).new(2, [3])


def _lr_sequence(lib, build, steps=30):
    p = lib.nn.Parameter(lib.zeros(2))
    opt = lib.optim.SGD([p], lr=0.5)
    sched = build(lib.optim.lr_scheduler, opt)
    out = []
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append((opt.param_groups[0]["lr"], sched.get_last_lr()[0]))
    return out, sched


_SCHEDULES = {
    "warmup-cosine": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=10),
            L.CosineAnnealingLR(o, T_max=15, eta_min=1e-3)], milestones=[10]),
    "three-phases": lambda L, o: L.SequentialLR(
        o, [L.ExponentialLR(o, gamma=0.9), L.StepLR(o, step_size=3, gamma=0.5),
            L.MultiStepLR(o, milestones=[4, 8], gamma=0.3)], milestones=[5, 12]),
    "chained": lambda L, o: L.ChainedScheduler(
        [L.ExponentialLR(o, gamma=0.95), L.StepLR(o, step_size=4, gamma=0.5)]),
}


@pytest.mark.parametrize("name", sorted(_SCHEDULES))
def test_sequential_and_chained_schedulers_match_torch(name):
    # regression_scheduler.py: SequentialLR(warmup, cosine) did not exist
    import torch.optim  # noqa: F401
    want, tsched = _lr_sequence(torch, _SCHEDULES[name])
    got, msched = _lr_sequence(minitorch, _SCHEDULES[name])
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-12, atol=0)
    # state_dict carries the children's states and reloads
    sd = msched.state_dict()
    assert len(sd["_schedulers"]) == len(tsched.state_dict()["_schedulers"])
    msched.load_state_dict(sd)


def test_sequential_lr_errors():
    import torch.optim  # noqa: F401
    for lib in (torch, minitorch):
        p = lib.nn.Parameter(lib.zeros(2))
        opt = lib.optim.SGD([p], lr=0.5)
        L = lib.optim.lr_scheduler
        with pytest.raises(ValueError, match="one more than the number of milestone points"):
            L.SequentialLR(opt, [L.StepLR(opt, 2), L.StepLR(opt, 3)], milestones=[1, 2])
        with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
            L.SequentialLR(opt, [L.StepLR(opt, 2), L.ReduceLROnPlateau(opt)], milestones=[1])
