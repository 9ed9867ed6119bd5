"""The "Tensors" page of PyTorch's beginner tutorial, extended: creation, attributes,
indexing and slicing, joining, arithmetic, in-place ops, the NumPy bridge (shared memory
both ways), plus the everyday API a model file uses (views, reductions with dim/keepdim,
broadcasting, masking, sorting, keyword arguments by PyTorch's names).
"""
import numpy as np
import torch

data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
np_array = np.array(data)
x_np = torch.from_numpy(np_array)
x_ones = torch.ones_like(x_data)
print(f"Ones Tensor: \n {x_ones} \n")
x_full = torch.full_like(x_data, 7, dtype=torch.float)
print(f"Full Tensor: \n {x_full} \n")

shape = (2, 3,)
ones_tensor = torch.ones(shape)
zeros_tensor = torch.zeros(shape)
print(f"Ones Tensor: \n {ones_tensor} \n")
print(f"Zeros Tensor: \n {zeros_tensor}")

tensor = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 4
print(f"Shape of tensor: {tensor.shape}")
print(f"Datatype of tensor: {tensor.dtype}")
print(f"Device tensor is stored on: {tensor.device}")

tensor = torch.ones(4, 4)
print(f"First row: {tensor[0]}")
print(f"First column: {tensor[:, 0]}")
print(f"Last column: {tensor[..., -1]}")
tensor[:, 1] = 0
print(tensor)
t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1)
print(t1.shape, torch.stack([tensor, tensor]).shape)

y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
print(torch.equal(y1, y2))
z1 = tensor * tensor
z2 = tensor.mul(tensor)
print(torch.allclose(z1, z2))
agg = tensor.sum()
agg_item = agg.item()
print(agg_item, type(agg_item))
print(f"{tensor} \n")
tensor.add_(5)
print(tensor)

t = torch.ones(5)
print(f"t: {t}")
n = t.numpy()
print(f"n: {n}")
t.add_(1)
print(f"t: {t}")
print(f"n: {n}")
n = np.ones(5)
t = torch.from_numpy(n)
np.add(n, 1, out=n)
print(f"t: {t}")
print(f"n: {n}")

# the API a model file leans on, by PyTorch's keyword names
a = torch.linspace(-1.0, 1.0, steps=12).view(3, 4)
b = torch.arange(4.0)
print(torch.add(input=a, other=b, alpha=0.5))
print(torch.sum(a, dim=1, keepdim=True), a.mean(dim=0))
print(a.max(dim=1), torch.argmax(a, dim=0))
vals, idx = torch.sort(a, dim=1, descending=True)
print(vals[:, :2], idx[:, :2])
print(torch.topk(a.flatten(), k=3))
print(torch.where(a > 0, a, torch.zeros_like(a)))
print(a.masked_fill(mask=a < 0, value=-1.0))
print(torch.matmul(input=a, other=a.T).diag())
print(a.transpose(dim0=0, dim1=1).contiguous().view(-1)[:5])
print(a.unsqueeze(0).expand(2, 3, 4).shape, a.permute(1, 0).shape, a.flip(dims=(0,))[0])
print(torch.clamp(a, min=-0.5, max=0.5).std(dim=1), a.var(unbiased=False))
print(torch.roll(b, shifts=1), torch.cumsum(b, dim=0), torch.prod(b + 1))
print(a.split(split_size=2, dim=1)[1], torch.chunk(a, chunks=2, dim=0)[1])
print(torch.nn.functional.one_hot(torch.tensor([0, 2, 1]), num_classes=3))
print(torch.einsum('ij,kj->ik', a, a).trace())
