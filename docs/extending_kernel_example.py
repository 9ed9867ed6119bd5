"""docs/extending.md, "Adding a kernel": a new primitive ``softplus`` with its own CUDA kernel
(docs/extending_kernel_example.cu), wired into the backends, given a backward, checked on
the ``cudasim`` device with gradcheck and timed on a GPU when there is one.

In the repository the pieces would live in kernels/softplus.cu, backends/base.py,
backends/cpu.py, a new backends/kernel/softplus.py mixin (with its names in
backends/kernel/layout.py's kernel_names) and ops/elementwise.py; this script attaches
them to the classes at run time so that it runs as it is:

    python docs/extending_kernel_example.py
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import minitorch  # noqa: E402
from minitorch import Tensor  # noqa: E402
from minitorch.autograd import Function, gradcheck, gradgradcheck  # noqa: E402
from minitorch.backends.kernel import layout as L  # noqa: E402
from minitorch.backends.base import Backend  # noqa: E402
from minitorch.backends.cpu import CpuBackend  # noqa: E402
from minitorch.backends.kernel import KernelBackend  # noqa: E402

KERNEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "extending_kernel_example.cu")
NAMES = ("softplus_kernel<float>", "softplus_kernel<double>")


# 1. the contract (backends/base.py): a method with a docstring
def softplus_contract(self, x):
    """log(1 + e**x) elementwise, overflow-free: max(x, 0) + log1p(exp(-|x|))."""
    raise NotImplementedError


# 2. the reference implementation (backends/cpu.py)
def softplus_cpu(self, x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


# 3. the kernel implementation (a mixin of KernelBackend in backends/kernel/)
def softplus_kernel(self, x):
    out = self.xp.empty(x.shape, x.dtype)
    if out.size:
        fn = self.runtime.module(KERNEL, NAMES).get_function(
            f"softplus_kernel<{L.C_TYPE[x.dtype]}>")
        fn((self._grid_1d(out.size),), (256,), (self.contiguous(x), out, np.int64(out.size)))
    return out


Backend.softplus = softplus_contract
CpuBackend.softplus = softplus_cpu
KernelBackend.softplus = softplus_kernel


# 4. the op: forward on the primitive, backward in Tensor ops (ops/elementwise.py)
class Softplus(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a._device._be.softplus(a._data)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * a.sigmoid()


def softplus(x: Tensor) -> Tensor:
    if not x.is_floating_point():
        x = x.to(minitorch.get_default_dtype())
    return Softplus.apply(x)


# 5. test on cudasim: forward against cpu (and PyTorch), gradients against finite differences
xs = np.array([-30.0, -1.0, 0.0, 0.5, 2.0, 30.0])
for dev in ("cpu", "cudasim"):
    x = minitorch.tensor(xs, dtype=minitorch.float64, device=dev, requires_grad=True)
    y = softplus(x)
    print(f"{dev:8s} {y.grad_fn.name():18s} gradcheck={gradcheck(softplus, (x,))} "
          f"gradgradcheck={gradgradcheck(softplus, (x,))}")
    print("        ", np.array2string(y.detach().numpy(force=True), precision=6))
try:
    import torch
    print("torch    ", np.array2string(torch.nn.functional.softplus(torch.tensor(xs)).numpy(),
                                       precision=6))
except ImportError:
    pass
big = minitorch.tensor(np.random.default_rng(0).standard_normal(100_003).astype(np.float32) * 50,
                       device="cudasim")
ref = softplus(minitorch.tensor(big.numpy(force=True)))
print("float32, 100003 elements on cudasim, max |cudasim - cpu| =",
      float(np.abs(softplus(big).numpy(force=True) - ref.numpy()).max()))

# 6. benchmark on a GPU: our kernel against PyTorch's, interleaved rounds, median ratio
if minitorch.cuda.is_available():
    import torch
    n = 1 << 26
    xg = minitorch.randn(n, device="cuda")
    xt = torch.randn(n, device="cuda")
    ratios = []
    for _ in range(10):
        ts = []
        for f, sync in ((lambda: softplus(xg), minitorch.cuda.synchronize),
                        (lambda: torch.nn.functional.softplus(xt), torch.cuda.synchronize)):
            f(); sync()
            t0 = time.perf_counter()
            for _ in range(20):
                f()
            sync()
            ts.append((time.perf_counter() - t0) / 20)
        ratios.append(ts[0] / ts[1])
    print(f"softplus 2^26 float32: {8 * n / ts[0] / 1e9:.0f} GB/s, "
          f"minitorch / torch = {sorted(ratios)[5]:.2f}x")
else:
    print("no GPU here: the benchmark step runs on device 'cuda' only")
