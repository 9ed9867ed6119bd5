"""The worked example of docs/extending.md: softplus(x) = log(1 + e**x), three ways.

    python docs/extending_example.py        (after `make demo` or `make test` set up .venv)
"""
import minitorch as torch
from minitorch import Tensor
from minitorch.autograd import Function, gradcheck, gradgradcheck


# (1) a user autograd.Function: forward and backward in Tensor ops, as in PyTorch
class UserSoftplus(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.relu() + (-x.abs()).exp().log1p()   # log(1 + e**x) without overflow

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x.sigmoid()


# (2) a built-in op: forward on raw arrays through backend primitives
class Softplus(Function):
    _raw_forward = True        # forward returns the backend's array; apply wraps it

    @staticmethod
    def forward(ctx, a):
        be, x = a._device._be, a._data
        ctx.save_for_backward(a)
        t = be.unary("log1p", be.unary("exp", be.unary("neg", be.unary("abs", x))))
        return be.binary("add", be.unary("relu", x), t)

    @staticmethod
    def backward(ctx, g):      # Tensor ops, so it is differentiable again
        (a,) = ctx.saved_tensors
        return g * a.sigmoid()


def softplus(self: Tensor) -> Tensor:
    """The Tensor method: argument checks and dtype handling, then the Function."""
    if not self.is_floating_point():
        self = self.to(torch.get_default_dtype())
    return Softplus.apply(self)


# (3) a composite: no Function at all; autograd records the ops it is made of
def softplus_composite(x: Tensor) -> Tensor:
    return x.relu() + (-x.abs()).exp().log1p()


Tensor.softplus = softplus     # what ops/__init__.py install() does for built-ins

if __name__ == "__main__":
    x = torch.tensor([-30.0, -1.0, 0.5, 2.0, 30.0], dtype=torch.float64, requires_grad=True)
    for name, f in [("user Function", UserSoftplus.apply), ("built-in", Tensor.softplus),
                    ("composite", softplus_composite)]:
        y = f(x)
        print(f"{name:13s} {y.grad_fn.name():20s} gradcheck={gradcheck(f, (x,))} "
              f"gradgradcheck={gradgradcheck(f, (x,))}")

    print(x.softplus())
    print(torch.tensor([-100.0, 100.0]).softplus().tolist())  # float32: e**100 would overflow

    # the kink: relu and abs have derivative 0 at 0, so the composite's gradient there is 0
    z = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    softplus_composite(z).backward()
    print("d/dx at 0: composite", z.grad.item(), " built-in",
          torch.autograd.grad(z.softplus(), z)[0].item())
