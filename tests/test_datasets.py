"""minitorch.datasets: the bundled digits, the IDX reader and the MNIST dataset class."""
import gzip
import os
import struct

import numpy as np
import pytest

import minitorch
from minitorch import datasets
from minitorch.datasets import MNIST, load_digits, read_idx

# ---------------------------------------------------------------------------------------------
# digits
# ---------------------------------------------------------------------------------------------


def test_load_digits_shapes_dtypes_and_content():
    images, labels = load_digits()
    assert isinstance(images, minitorch.Tensor) and isinstance(labels, minitorch.Tensor)
    assert tuple(images.shape) == (1797, 8, 8) and images.dtype is minitorch.float32
    assert tuple(labels.shape) == (1797,) and labels.dtype is minitorch.int64
    im, lb = images.numpy(), labels.numpy()
    assert im.min() == 0 and im.max() == 16 and np.array_equal(im, np.round(im))
    # fingerprints of sklearn.datasets.load_digits() (scikit-learn 1.9.1)
    assert im.sum() == 561718 and lb.sum() == 8070
    assert np.bincount(lb).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert im[0].tolist()[1] == [0, 0, 13, 15, 10, 15, 5, 0]
    assert lb[:10].tolist() == list(range(10))


def test_load_digits_matches_sklearn():
    sk = pytest.importorskip("sklearn.datasets")
    d = sk.load_digits()
    images, labels = load_digits()
    np.testing.assert_array_equal(images.numpy(), d.images.astype(np.float32))
    np.testing.assert_array_equal(labels.numpy(), d.target)


def test_digits_file_is_plain_npz_without_pickles():
    with np.load(datasets.DIGITS_PATH, allow_pickle=False) as z:
        assert sorted(z.files) == ["images", "labels"]
        assert z["images"].dtype == np.uint8 and z["labels"].dtype == np.uint8
    assert os.path.getsize(datasets.DIGITS_PATH) < 100_000


def test_load_digits_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="digits"):
        load_digits(tmp_path / "none.npz")


def test_load_digits_refuses_object_arrays(tmp_path):
    p = tmp_path / "evil.npz"
    np.savez(p, images=np.array([object()], dtype=object), labels=np.zeros(1, np.uint8))
    with pytest.raises(ValueError, match="allow_pickle"):
        load_digits(p)


def test_load_digits_checks_shapes(tmp_path):
    p = tmp_path / "bad.npz"
    np.savez(p, images=np.zeros((3, 4, 4), np.uint8), labels=np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match=r"expected \[N, 8, 8\]"):
        load_digits(p)


# ---------------------------------------------------------------------------------------------
# IDX
# ---------------------------------------------------------------------------------------------

CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
         np.float64: 0x0E}


def idx_bytes(a: np.ndarray, code=None) -> bytes:
    code = CODES[a.dtype.type] if code is None else code
    head = bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


def write(path, data: bytes, gz: bool):
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("dtype", list(CODES), ids=lambda t: t.__name__)
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (2, 0, 3), (1, 1, 1, 2)])
def test_read_idx_roundtrip(tmp_path, gz, dtype, shape):
    rng = np.random.default_rng(0)
    if np.issubdtype(dtype, np.floating):
        a = rng.standard_normal(shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    p = write(tmp_path / "x.idx", idx_bytes(a), gz)
    out = read_idx(p)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative and out.shape == shape
    np.testing.assert_array_equal(out, a)
    assert read_idx(str(p)).shape == shape


def test_read_idx_is_big_endian(tmp_path):
    data = bytes([0, 0, 0x0B, 1]) + struct.pack(">I", 2) + struct.pack(">hh", 258, -2)
    out = read_idx(write(tmp_path / "x", data, False))
    assert out.tolist() == [258, -2]


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("data,why", [
    (b"", "shorter than the 4-byte magic"),
    (b"\x00\x00", "shorter than the 4-byte magic"),
    (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "does not start with two zero bytes"),
    (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "unknown data type code 0x07"),
    (b"\x00\x00\x08\x03" + struct.pack(">I", 1), "announces 3 dimensions but is truncated"),
    (b"\x00\x00\x08\x02" + struct.pack(">II", 3, 4) + b"\x00" * 11, "needs 12 bytes of data but "
                                                                    "only 11"),
    (b"\x00\x00\x0D\x01" + struct.pack(">I", 3) + b"\x00" * 8, "needs 12 bytes"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 2) + b"\x00" * 3, "bytes after the 2 bytes"),
    (b"\x00\x00\x0E\x03" + struct.pack(">III", 2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1) + b"\x00",
     "truncated"),  # sizes claiming exabytes: no huge allocation
])
def test_read_idx_errors(tmp_path, gz, data, why):
    p = write(tmp_path / "bad.idx", data, gz)
    with pytest.raises(ValueError) as ei:
        read_idx(p)
    assert "not a valid IDX file" in str(ei.value) and why in str(ei.value)
    assert str(p) in str(ei.value)


def test_read_idx_truncated_gzip_stream(tmp_path):
    a = np.arange(1000, dtype=np.uint8)
    full = gzip.compress(idx_bytes(a))
    p = tmp_path / "cut.gz"
    p.write_bytes(full[: len(full) // 2])
    with pytest.raises(ValueError, match="not a valid IDX file"):
        read_idx(p)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError) as ei:
        read_idx(tmp_path / "nope")
    assert ei.value.filename == str(tmp_path / "nope")


# ---------------------------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------------------------

def fake_mnist(root, n_train=5, n_test=3, gz=False, side=28):
    rng = np.random.default_rng(1)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
        imgs[:, 0, 0] = 255
        imgs[:, 0, 1] = 0
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        ext = ".gz" if gz else ""
        write(root / f"{prefix}-images-idx3-ubyte{ext}", idx_bytes(imgs), gz)
        write(root / f"{prefix}-labels-idx1-ubyte{ext}", idx_bytes(labels), gz)
        out[prefix] = (imgs, labels)
    return out


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("train", [True, False], ids=["train", "test"])
def test_mnist_reads_fake_files(tmp_path, gz, train):
    ref = fake_mnist(tmp_path, gz=gz)["train" if train else "t10k"]
    ds = MNIST(tmp_path, train=train)
    assert len(ds) == len(ref[0])
    for i in range(len(ds)):
        img, label = ds[i]
        assert isinstance(img, minitorch.Tensor) and img.dtype is minitorch.float32
        assert tuple(img.shape) == (1, 28, 28)
        assert type(label) is int and label == int(ref[1][i])
        np.testing.assert_allclose(img.numpy()[0], ref[0][i] / 255.0, rtol=1e-6)
        assert img.numpy()[0, 0, 0] == 1.0 and img.numpy()[0, 0, 1] == 0.0
    assert ds[-1][1] == int(ref[1][-1])
    assert ds.data.dtype == np.uint8 and ds.targets.dtype == np.int64
    assert "Number of datapoints" in repr(ds)


def test_mnist_transforms(tmp_path):
    ref = fake_mnist(tmp_path)
    ds = MNIST(tmp_path, transform=lambda x: x * 2 - 1, target_transform=lambda y: y + 100)
    img, label = ds[0]
    np.testing.assert_allclose(img.numpy()[0], ref["train"][0][0] / 255.0 * 2 - 1, rtol=1e-5,
                               atol=1e-6)
    assert label == int(ref["train"][1][0]) + 100


def test_mnist_torchvision_layout(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    fake_mnist(raw, gz=True)
    assert len(MNIST(tmp_path, train=False)) == 3


def test_mnist_index_out_of_range(tmp_path):
    fake_mnist(tmp_path)
    ds = MNIST(tmp_path)
    with pytest.raises(IndexError, match="out of range"):
        ds[5]
    with pytest.raises(IndexError):
        ds[-6]


def test_mnist_missing_files_lists_expected_names(tmp_path):
    with pytest.raises(FileNotFoundError) as ei:
        MNIST(tmp_path, train=True)
    msg = str(ei.value)
    assert "train-images-idx3-ubyte" in msg and "train-labels-idx1-ubyte" in msg
    assert ".gz" in msg and str(tmp_path) in msg
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        MNIST(tmp_path, train=False)


def test_mnist_refuses_download(tmp_path):
    with pytest.raises(RuntimeError, match="does not download"):
        MNIST(tmp_path, download=True)


def test_mnist_mismatched_counts(tmp_path):
    fake_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(4, np.uint8)), False)
    with pytest.raises(ValueError, match="5 images but 4 labels"):
        MNIST(tmp_path)


def test_mnist_wrong_file_types(tmp_path):
    fake_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(5, np.float32)), False)
    with pytest.raises(ValueError, match="expected uint8 \\[N\\]"):
        MNIST(tmp_path)


def test_mnist_is_a_dataset_and_batches_with_dataloader(tmp_path):
    from minitorch.utils.data import DataLoader, Dataset
    ref = fake_mnist(tmp_path, n_train=5)
    ds = MNIST(tmp_path)
    assert isinstance(ds, Dataset)
    batches = list(DataLoader(ds, batch_size=2, shuffle=False))
    assert [tuple(x.shape) for x, _ in batches] == [(2, 1, 28, 28), (2, 1, 28, 28), (1, 1, 28, 28)]
    labels = np.concatenate([y.numpy() for _, y in batches])
    np.testing.assert_array_equal(labels, ref["train"][1])
