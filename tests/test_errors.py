"""Misuse gets PyTorch's error type and words — checked against PyTorch itself when it is
importable, so the messages cannot drift from the ones users search for."""
import re

import numpy as np
import pytest

import minitorch
from minitorch.backends.cpu import CpuBackend
from minitorch.device import register_backend

try:
    import torch
except ImportError:
    torch = None


def _leaf_inplace(m):
    w = m.ones(3, requires_grad=True)
    w.add_(1)


def _freed_graph(m):
    w = m.ones(3, requires_grad=True)
    y = (w * w).sum()
    y.backward()
    y.backward()


def _modified_saved(m):
    w = m.ones(3, requires_grad=True)
    y = w.exp()
    y.add_(1)
    y.sum().backward()


def _nonscalar_backward(m):
    (m.ones(3, requires_grad=True) * 2).backward()


def _no_grad_backward(m):
    m.ones(3).sum().backward()


def _setitem_leaf(m):
    w = m.ones(3, requires_grad=True)
    w[0] = 2.0


ERRORS = [
    ("mm_shapes", lambda m: m.ones(64, 1000).mm(m.ones(100, 10)), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(64x1000 and 100x10\)"),
    ("matmul_shapes", lambda m: m.ones(2, 3) @ m.ones(4, 5), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    ("linear_like", lambda m: m.ones(8, 4) @ m.ones(5, 2), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(8x4 and 5x2\)"),
    ("dot_sizes", lambda m: m.ones(3) @ m.ones(4), RuntimeError,
     r"inconsistent tensor size, expected tensor \[3\] and src \[4\] to have the same number "
     r"of elements, but got 3 and 4 elements respectively"),
    ("bmm_batch", lambda m: m.ones(2, 3, 4).bmm(m.ones(3, 4, 5)), RuntimeError,
     r"Expected size for first two dimensions of batch2 tensor to be: \[2, 4\] but got: "
     r"\[3, 4\]."),
    ("mm_dtype", lambda m: m.ones(2, 2).mm(m.ones(2, 2, dtype=m.float64)), RuntimeError,
     r"expected m1 and m2 to have the same dtype, but got: float != double"),
    ("broadcast", lambda m: m.ones(3, 4) + m.ones(3, 5), RuntimeError,
     r"The size of tensor a \(4\) must match the size of tensor b \(5\) at non-singleton "
     r"dimension 1"),
    ("broadcast_mul", lambda m: m.ones(2, 3) * m.ones(4, 1, 2), RuntimeError,
     r"The size of tensor a \(3\) must match the size of tensor b \(2\) at non-singleton "
     r"dimension 2"),
    ("item_many", lambda m: m.ones(3).item(), RuntimeError,
     r"a Tensor with 3 elements cannot be converted to Scalar"),
    ("reshape_bad", lambda m: m.ones(12).reshape(3, 5), RuntimeError,
     r"shape '\[3, 5\]' is invalid for input of size 12"),
    ("reshape_two_infer", lambda m: m.ones(12).reshape(-1, -1), RuntimeError,
     r"only one dimension can be inferred"),
    ("view_noncontig", lambda m: m.ones(3, 4).t().view(12), RuntimeError,
     r"view size is not compatible with input tensor's size and stride"),
    ("index_oob", lambda m: m.ones(3)[5], IndexError,
     r"index 5 is out of bounds for dimension 0 with size 3"),
    ("index_oob_dim1", lambda m: m.ones(2, 3)[:, -4], IndexError,
     r"index -4 is out of bounds for dimension 1 with size 3"),
    ("index_tensor_oob", lambda m: m.ones(3)[m.tensor([0, 7])], IndexError,
     r"index 7 is out of bounds for dimension 0 with size 3"),
    ("too_many_indices", lambda m: m.ones(3)[0, 0], IndexError,
     r"too many indices for tensor of dimension 1"),
    ("gather_oob", lambda m: m.ones(2, 3).gather(1, m.tensor([[0, 3]])), RuntimeError,
     r"index 3 is out of bounds for dimension 1 with size 3"),
    ("dim_range", lambda m: m.ones(2, 3).sum(2), IndexError,
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("expand_bad", lambda m: m.ones(3).expand(2, 5), RuntimeError,
     r"The expanded size of the tensor \(5\) must match the existing size \(3\) at "
     r"non-singleton dimension 1.  Target sizes: \[2, 5\].  Tensor sizes: \[3\]"),
    ("cat_sizes", lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)], 0), RuntimeError,
     r"Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for "
     r"tensor number 1 in the list."),
    ("stack_sizes", lambda m: m.stack([m.ones(2, 3), m.ones(2, 4)]), RuntimeError,
     r"stack expects each tensor to be equal size, but got \[2, 3\] at entry 0 and \[2, 4\] "
     r"at entry 1"),
    ("cat_empty", lambda m: m.cat([]), ValueError,
     r"expected a non-empty list of Tensors"),
    ("int_requires_grad", lambda m: m.ones(2, dtype=m.int64).requires_grad_(), RuntimeError,
     r"only Tensors of floating point( and complex)? dtype can require gradients"),
    ("leaf_inplace", _leaf_inplace, RuntimeError,
     r"a leaf Variable that requires grad is being used in an in-place operation."),
    ("setitem_leaf", _setitem_leaf, RuntimeError,
     r"a leaf Variable that requires grad is being used in an in-place operation."),
    ("freed_graph", _freed_graph, RuntimeError,
     r"Trying to backward through the graph a second time"),
    ("modified_saved", _modified_saved, RuntimeError,
     r"one of the variables needed for gradient computation has been modified by an inplace "
     r"operation"),
    ("nonscalar_backward", _nonscalar_backward, RuntimeError,
     r"grad can be implicitly created only for scalar outputs"),
    ("no_grad_backward", _no_grad_backward, RuntimeError,
     r"element 0 of tensors does not require grad and does not have a grad_fn"),
    ("mean_int", lambda m: m.ones(2, dtype=m.int64).mean(), RuntimeError,
     r"mean\(\): could not infer output dtype. Input dtype must be either a floating point or "
     r"complex dtype. Got: Long"),
    ("inplace_cast", lambda m: m.ones(2, dtype=m.int64).add_(0.5), RuntimeError,
     r"result type Float can't be cast to the desired output type Long"),
    ("inplace_broadcast", lambda m: m.ones(3).add_(m.ones(2, 3)), RuntimeError,
     r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"),
    ("bool_ambiguous", lambda m: bool(m.ones(2)), RuntimeError,
     r"Boolean value of Tensor with more than one value is ambiguous"),
    ("negative_step", lambda m: m.ones(4)[::-1], ValueError,
     r"step must be greater than zero"),
    ("numpy_requires_grad", lambda m: m.ones(2, requires_grad=True).numpy(), RuntimeError,
     r"Can't call numpy\(\) on Tensor that requires grad. Use tensor.detach\(\).numpy\(\) "
     r"instead."),
    ("mask_shape", lambda m: m.ones(3, 4)[m.ones(4, dtype=m.bool)], IndexError,
     r"The shape of the mask \[4\] at index 0 does not match the shape of the indexed tensor "
     r"\[3, 4\] at index 0"),
    ("permute_len", lambda m: m.ones(2, 3).permute(0, 1, 2), RuntimeError,
     r"number of dimensions in the tensor input does not match the length of the desired "
     r"ordering of dimensions"),
    ("arange_step", lambda m: m.arange(0, 5, 0), RuntimeError, r"step must be nonzero"),
    ("one_hot_range", lambda m: __import__("minitorch.ops.index", fromlist=["x"]).one_hot(
        m.tensor([0, 5]), 3) if m is minitorch else m.nn.functional.one_hot(m.tensor([0, 5]), 3),
     RuntimeError, r"Class values must be smaller than num_classes."),
    ("int_floor_div_zero", lambda m: m.tensor([7, 1]) // m.tensor([2, 0]), RuntimeError,
     r"ZeroDivisionError"),
    ("int_remainder_zero", lambda m: m.tensor([7]) % 0, RuntimeError, r"ZeroDivisionError"),
    ("bool_sub", lambda m: m.tensor([True]) - m.tensor([False]), RuntimeError,
     r"Subtraction, the `-` operator, with two bool tensors is not supported. Use the `\^` or "
     r"`logical_xor\(\)` operator instead."),
    ("grad_shape", lambda m: (m.ones(2, requires_grad=True) * 2).backward(m.ones(3)),
     RuntimeError, r"Mismatch in shape: grad_output\[0\] has a shape of"),
]


@pytest.mark.parametrize("fn,exc,pattern", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_error(fn, exc, pattern):
    with pytest.raises(exc, match=pattern):
        fn(minitorch)


@pytest.mark.parametrize("fn,exc,pattern", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_error_matches_torch(fn, exc, pattern):
    if torch is None:
        pytest.skip("torch not importable")
    with pytest.raises(exc) as info:
        fn(torch)
    assert re.search(pattern, str(info.value)), str(info.value)


# -- devices: a second cpu-backed device type stands in for a GPU ---------------------------

register_backend("fakegpu", lambda index: CpuBackend())


def test_mixed_devices_error():
    a = minitorch.ones(3)
    b = minitorch.ones(3, device="fakegpu")
    assert str(b.device) == "fakegpu:0"
    msg = r"Expected all tensors to be on the same device, but found at least two devices, " \
          r"fakegpu:0 and cpu!"
    with pytest.raises(RuntimeError, match=msg):
        b + a
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        b @ a
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        minitorch.cat([a, b])
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        minitorch.where(a > 0, a, b)


def test_device_transfer_is_differentiable():
    a = minitorch.ones(3, requires_grad=True)
    b = a.to("fakegpu") * 2
    assert b.device.type == "fakegpu"
    b.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0, 2.0] and a.grad.device.type == "cpu"
    assert b.cpu().device.type == "cpu"


def test_bad_operand_types():
    with pytest.raises(TypeError):
        minitorch.ones(2) + "a"
    with pytest.raises(TypeError):
        minitorch.ones(2) + [1, 2]
    with pytest.raises(IndexError, match="only integers, slices"):
        minitorch.ones(2)[1.5]
