"""Custom autograd Functions, after PyTorch's "Learning PyTorch with Examples" tutorial.

LegendrePolynomial3 (forward/backward with ctx.save_for_backward) fits sin(x) with a
hand-written gradient-descent loop; a second Function uses ctx.needs_input_grad,
ctx.mark_non_differentiable and returns two outputs; gradcheck checks both in float64.
"""
import math

import torch


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


class ScaledSoftClip(torch.autograd.Function):
    """y = scale * tanh(x / scale), plus the (non-differentiable) mask of |x| > scale."""

    @staticmethod
    def forward(ctx, x, scale):
        y = scale * torch.tanh(x / scale)
        mask = x.abs() > scale
        ctx.save_for_backward(y)
        ctx.scale = scale
        ctx.mark_non_differentiable(mask)
        return y, mask

    @staticmethod
    def backward(ctx, grad_y, grad_mask):
        y, = ctx.saved_tensors
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_y * (1 - (y / ctx.scale) ** 2)
        return grad_x, None


dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 200, dtype=dtype)
y = torch.sin(x)
a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
for t in range(400):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, f"{loss.item():.5f}")
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
print(f'Result: y = {a.item():.5f} + {b.item():.5f} * P3({c.item():.5f} + {d.item():.5f} x)')

z = torch.linspace(-3, 3, 7, dtype=torch.float64, requires_grad=True)
out, mask = ScaledSoftClip.apply(z, 2.0)
print("mask", mask, mask.requires_grad, out.grad_fn is not None)
out.sum().backward()
print("grad", z.grad)
inp = torch.linspace(-1, 1, 5, dtype=torch.float64, requires_grad=True)
print("gradcheck P3:", torch.autograd.gradcheck(LegendrePolynomial3.apply, (inp,)))
print("gradcheck clip:", torch.autograd.gradcheck(lambda t: ScaledSoftClip.apply(t, 0.7)[0],
                                                   (inp,)))
g, = torch.autograd.grad(LegendrePolynomial3.apply(inp).sum(), inp, create_graph=True)
print("first derivative", g)
