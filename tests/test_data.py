"""minitorch.utils.data against torch.utils.data: samplers, batching, collation, random_split,
argument errors, and DataLoader worker processes (fork and spawn, errors, dead workers)."""
import collections
import gc
import re
import signal
import time
import warnings

import numpy as np
import pytest

import minitorch
from minitorch.utils.data import (BatchSampler, ConcatDataset, DataLoader, RandomSampler,
                                  SequentialSampler, StackDataset, Subset, SubsetRandomSampler,
                                  TensorDataset, WeightedRandomSampler, default_collate,
                                  default_convert, get_worker_info, random_split)
from minitorch.utils.data import _worker

from _data_helpers import (DictDataset, ExitingDataset, RaisingDataset, RangeIterable,
                           SlowDataset, WorkerInfoDataset, record_init)

try:
    import torch
    import torch.utils.data as tdata
except ImportError:  # the tests that compare with PyTorch are skipped
    torch = tdata = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch")
_TENSORS = (minitorch.Tensor,) + ((torch.Tensor,) if torch is not None else ())


def _gen(seed):
    return minitorch.Generator().manual_seed(seed)


def _plain(x):
    """A batch as plain Python values (tensors -> lists), for comparisons across libraries."""
    if isinstance(x, _TENSORS):
        return x.tolist()
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x) if not hasattr(x, "_fields") else \
            tuple(_plain(v) for v in x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


# -- samplers --------------------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("n,bs,drop", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                                       (2, 5, True), (0, 2, False), (7, 1, False)])
def test_batch_sampler_matches_torch(n, bs, drop):
    ours = BatchSampler(SequentialSampler(range(n)), bs, drop)
    ref = tdata.BatchSampler(tdata.SequentialSampler(range(n)), bs, drop)
    assert list(ours) == list(ref)
    assert len(ours) == len(ref)
    # any iterable works as the inner sampler, in its own order
    keys = [5, 3, 8, 1, 0, 9, 2]
    assert list(BatchSampler(keys, bs, drop)) == list(tdata.BatchSampler(keys, bs, drop))


@needs_torch
@pytest.mark.parametrize("kwargs", [dict(batch_size=0, drop_last=False),
                                    dict(batch_size=True, drop_last=False),
                                    dict(batch_size=2.0, drop_last=False),
                                    dict(batch_size=2, drop_last=1)])
def test_batch_sampler_errors_match_torch(kwargs):
    with pytest.raises(ValueError) as ref:
        tdata.BatchSampler(range(4), **kwargs)
    with pytest.raises(ValueError, match=re.escape(str(ref.value))):
        BatchSampler(range(4), **kwargs)


@needs_torch
def test_sequential_sampler():
    assert list(SequentialSampler(range(6))) == list(tdata.SequentialSampler(range(6)))
    assert len(SequentialSampler([1, 2, 3])) == 3


def test_random_sampler_permutation_and_seed():
    perm = list(RandomSampler(range(20), generator=_gen(3)))
    assert sorted(perm) == list(range(20)) and perm != list(range(20))
    assert list(RandomSampler(range(20), generator=_gen(3))) == perm
    assert list(RandomSampler(range(20), generator=_gen(4))) != perm
    s = RandomSampler(range(20), generator=_gen(3))
    assert list(s) != list(s)  # a fresh permutation each pass
    # without a generator: seeded through minitorch.manual_seed
    minitorch.manual_seed(11)
    a = list(RandomSampler(range(20)))
    minitorch.manual_seed(11)
    assert list(RandomSampler(range(20))) == a


def test_random_sampler_num_samples_and_replacement():
    s = RandomSampler(range(5), num_samples=12, generator=_gen(0))
    out = list(s)
    assert len(out) == len(s) == 12
    assert sorted(out[:5]) == sorted(out[5:10]) == list(range(5))  # whole permutations first
    assert len(set(out[10:])) == 2
    r = RandomSampler(range(4), replacement=True, num_samples=70, generator=_gen(0))
    out = list(r)
    assert len(out) == 70 and set(out) == {0, 1, 2, 3}
    assert out == list(RandomSampler(range(4), replacement=True, num_samples=70,
                                     generator=_gen(0)))


@needs_torch
@pytest.mark.parametrize("kwargs,exc", [(dict(replacement="yes"), TypeError),
                                        (dict(num_samples=0), ValueError),
                                        (dict(num_samples=2.5), ValueError)])
def test_random_sampler_errors_match_torch(kwargs, exc):
    with pytest.raises(exc) as ref:
        tdata.RandomSampler(range(3), **kwargs)
    with pytest.raises(exc, match=re.escape(str(ref.value))):
        RandomSampler(range(3), **kwargs)


def test_subset_random_sampler():
    idx = [10, 20, 30, 40, 50]
    out = list(SubsetRandomSampler(idx, generator=_gen(1)))
    assert sorted(out) == idx and len(SubsetRandomSampler(idx)) == 5
    assert list(SubsetRandomSampler(idx, generator=_gen(1))) == out


def test_weighted_random_sampler():
    w = [0.0, 1.0, 0.0, 3.0, 0.5]
    out = list(WeightedRandomSampler(w, 200, generator=_gen(0)))
    assert len(out) == 200 and set(out) == {1, 3, 4}
    assert out.count(3) > out.count(1) > out.count(4)
    assert list(WeightedRandomSampler(w, 200, generator=_gen(0))) == out
    distinct = list(WeightedRandomSampler([1, 2, 3, 4], 4, replacement=False,
                                          generator=_gen(5)))
    assert sorted(distinct) == [0, 1, 2, 3]
    assert len(WeightedRandomSampler(w, 7)) == 7


@needs_torch
@pytest.mark.parametrize("args", [([[1.0, 2.0]], 2), ([1.0, 2.0], 0), ([1.0, 2.0], 2, "no")])
def test_weighted_random_sampler_errors_match_torch(args):
    with pytest.raises(ValueError) as ref:
        tdata.WeightedRandomSampler(*args)
    with pytest.raises(ValueError, match=re.escape(str(ref.value))):
        WeightedRandomSampler(*args)


# -- datasets and random_split ---------------------------------------------------------------

@needs_torch
def test_tensor_dataset_subset_concat_stack():
    x, y = minitorch.arange(12).reshape(6, 2).float(), minitorch.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6 and _plain(ds[4]) == ([8.0, 9.0], 4)
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(x, minitorch.arange(5))
    sub = Subset(ds, [5, 0, 2])
    assert len(sub) == 3 and _plain(sub[0]) == ([10.0, 11.0], 5)
    cat = ConcatDataset([range(3), range(10, 14)])
    ref = tdata.ConcatDataset([range(3), range(10, 14)])
    assert [cat[i] for i in range(-7, 7)] == [ref[i] for i in range(-7, 7)]
    assert cat.cumulative_sizes == ref.cumulative_sizes and len(cat) == 7
    with pytest.raises(ValueError, match="absolute value of index should not exceed"):
        cat[-8]
    both = StackDataset(range(3), [7, 8, 9])
    named = StackDataset(a=range(3), b="xyz")
    assert both[1] == (1, 8) and named[2] == {"a": 2, "b": "z"}
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset(range(3), range(4))
    assert isinstance(DictDataset(2) + DictDataset(3), ConcatDataset)


@needs_torch
@pytest.mark.parametrize("n,fractions", [(10, [0.3, 0.7]), (7, [0.1, 0.2, 0.7]),
                                         (101, [1 / 3, 1 / 3, 1 / 3]), (11, [0.25] * 4),
                                         (5, [0.6, 0.4]), (1000, [0.8, 0.1, 0.1])])
def test_random_split_fractions_match_torch(n, fractions):
    ours = random_split(range(n), fractions, generator=_gen(0))
    ref = tdata.random_split(range(n), fractions, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in ref]
    flat = [i for s in ours for i in s]
    assert sorted(flat) == list(range(n))  # disjoint and complete
    again = random_split(range(n), fractions, generator=_gen(0))
    assert [list(s) for s in again] == [list(s) for s in ours]


def test_random_split_lengths_and_errors():
    parts = random_split(range(10), [3, 7], generator=_gen(1))
    assert [len(p) for p in parts] == [3, 7] and isinstance(parts[0], Subset)
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(10), [3, 6])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(range(10), [-0.5, 1.5])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [len(p) for p in random_split(range(2), [0.9, 0.05, 0.05])] == [2, 0, 0]
    assert [str(w.message) for w in caught] == [
        f"Length of split at index {i} is 0. This might result in an empty dataset."
        for i in (1, 2)]


# -- collation -------------------------------------------------------------------------------

Point = collections.namedtuple("Point", ["x", "label"])


def _samples(m):
    """Nested samples built with module ``m`` (minitorch or torch)."""
    out = []
    for i in range(3):
        out.append({
            "t": m.tensor([[i, i + 1.5]]),
            "ti": m.tensor([i, 2 * i]),
            "np": np.arange(4, dtype=np.float64).reshape(2, 2) + i,
            "np_i32": np.full(3, i, dtype=np.int32),
            "f64": np.float64(i / 4), "i32": np.int32(i), "f32": np.float32(i), "nb": np.bool_(i),
            "int": i, "float": i / 2, "bool": i % 2 == 0, "str": f"s{i}", "bytes": b"b",
            "tuple": (i, float(i), "z"), "list": [m.tensor(i), [i, i]],
            "point": Point(np.ones(2) * i, i),
        })
    return out


def _signature(x):
    if isinstance(x, _TENSORS):
        return ("tensor", str(x.dtype).split(".")[-1], tuple(x.shape), x.tolist())
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return (type(x).__name__, [_signature(v) for v in x])
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [_signature(v) for v in x])
    if isinstance(x, dict):
        return ("dict", {k: _signature(v) for k, v in x.items()})
    return (type(x).__name__, x)


@needs_torch
def test_default_collate_nested_matches_torch():
    ours = default_collate(_samples(minitorch))
    ref = tdata.default_collate(_samples(torch))
    assert _signature(ours) == _signature(ref)
    assert ours["f64"].dtype == minitorch.float64 and ours["float"].dtype == minitorch.float64
    assert ours["int"].dtype == minitorch.int64 and ours["i32"].dtype == minitorch.int32
    assert tuple(ours["t"].shape) == (3, 1, 2)


@needs_torch
@pytest.mark.parametrize("batch", [[1.5, 2.0], [1, 2], [True, False], ["a", "b"],
                                   [(1, "a"), (2, "b")], [[1, 2], [3, 4]]])
def test_default_collate_simple_matches_torch(batch):
    assert _signature(default_collate(batch)) == _signature(tdata.default_collate(batch))


@needs_torch
def test_default_convert_matches_torch():
    for m_sample, t_sample in zip(_samples(minitorch), _samples(torch)):
        assert _signature(default_convert(m_sample)) == _signature(tdata.default_convert(t_sample))
    s = np.array(["a", "b"])
    assert default_convert(s) is s


@needs_torch
@pytest.mark.parametrize("batch", [[[1, 2], [3]], [object(), object()],
                                   [np.array(["a"]), np.array(["b"])]])
def test_default_collate_errors_match_torch(batch):
    with pytest.raises((RuntimeError, TypeError)) as ref:
        tdata.default_collate(batch)
    with pytest.raises(ref.type) as ours:
        default_collate(batch)
    norm = lambda s: s.replace("torch", "X").replace("minitorch", "X")  # noqa: E731
    assert norm(str(ours.value)).split(" found ")[0] == norm(str(ref.value)).split(" found ")[0]


# -- DataLoader, single process --------------------------------------------------------------

def _tensor_ds(m, n=10):
    return (m.utils.data.TensorDataset(m.arange(2 * n).reshape(n, 2).float(), m.arange(n))
            if m is torch else TensorDataset(m.arange(2 * n).reshape(n, 2).float(), m.arange(n)))


@needs_torch
@pytest.mark.parametrize("kwargs", [dict(), dict(batch_size=3), dict(batch_size=3, drop_last=True),
                                    dict(batch_size=4, sampler=[9, 1, 5, 3, 0]),
                                    dict(batch_sampler=[[1, 2], [0], [9, 8, 7]]),
                                    dict(batch_size=None), dict(batch_size=None, sampler=[4, 2])])
def test_dataloader_order_and_shapes_match_torch(kwargs):
    ours = DataLoader(_tensor_ds(minitorch), **kwargs)
    ref = tdata.DataLoader(_tensor_ds(torch), **kwargs)
    assert len(ours) == len(ref)
    got, want = list(ours), list(ref)
    assert [_signature(b) for b in got] == [_signature(b) for b in want]


def test_dataloader_shuffle_reproducible():
    ds = _tensor_ds(minitorch, 12)
    run = lambda g: [b[1].tolist() for b in DataLoader(ds, batch_size=5, shuffle=True,  # noqa
                                                       generator=g)]
    a = run(_gen(7))
    assert [len(b) for b in a] == [5, 5, 2]
    assert sorted(sum(a, [])) == list(range(12)) and sum(a, []) != list(range(12))
    assert run(_gen(7)) == a
    g = _gen(7)
    assert run(g) == a and run(g) != a  # next epoch: another permutation
    minitorch.manual_seed(3)
    b = [x[1].tolist() for x in DataLoader(ds, batch_size=5, shuffle=True)]
    minitorch.manual_seed(3)
    assert [x[1].tolist() for x in DataLoader(ds, batch_size=5, shuffle=True)] == b


class _TorchRange(tdata.IterableDataset if torch is not None else object):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        return iter(range(self.n))


@needs_torch
@pytest.mark.parametrize("kwargs", [dict(), dict(batch_size=3), dict(batch_size=3, drop_last=True),
                                    dict(batch_size=None)])
def test_iterable_dataset_matches_torch(kwargs):
    ours = DataLoader(RangeIterable(0, 7), **kwargs)
    ref = tdata.DataLoader(_TorchRange(7), **kwargs)
    assert len(ours) == len(ref)
    assert [_signature(b) for b in ours] == [_signature(b) for b in ref]


_CONFLICTS = [
    dict(batch_sampler=[[0]], batch_size=2), dict(batch_sampler=[[0]], shuffle=True),
    dict(batch_sampler=[[0]], sampler=[0]), dict(batch_sampler=[[0]], drop_last=True),
    dict(sampler=[0, 1], shuffle=True), dict(batch_size=None, drop_last=True),
    dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2),
    dict(persistent_workers=True), dict(multiprocessing_context="spawn"),
    dict(num_workers=1, multiprocessing_context="nonsense"),
    dict(num_workers=1, multiprocessing_context=3),
    dict(iterable=True, shuffle=True), dict(iterable=True, sampler=[0]),
    dict(iterable=True, batch_sampler=[[0]]),
]


@needs_torch
@pytest.mark.parametrize("kwargs", _CONFLICTS)
def test_dataloader_argument_errors_match_torch(kwargs):
    kwargs = dict(kwargs)
    iterable = kwargs.pop("iterable", False)
    with pytest.raises((ValueError, TypeError)) as ref:
        tdata.DataLoader(_TorchRange(3) if iterable else range(3), **kwargs)
    with pytest.raises(ref.type) as ours:
        DataLoader(RangeIterable(0, 3) if iterable else range(3), **kwargs)
    assert str(ours.value) == str(ref.value)


def test_dataloader_attributes_frozen_and_timeout_needs_workers():
    dl = DataLoader(range(4), batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after "
                                         "DataLoader is initialized"):
        dl.batch_size = 3
    dl.num_workers = 0  # allowed, as in PyTorch
    assert get_worker_info() is None
    assert DataLoader(range(4), pin_memory=True).pin_memory is True  # accepted, no-op
    with pytest.raises(AssertionError, match="requires timeout == 0"):
        iter(DataLoader(range(4), timeout=1))


# -- the wire format -------------------------------------------------------------------------

def test_wire_format_round_trips_tensors_without_pickling_them():
    import pickle
    t = minitorch.tensor([[1.5, 2.5]], dtype=minitorch.float64)
    with pytest.raises(TypeError):
        pickle.dumps(t)
    obj = {"a": [t, (minitorch.tensor([True, False]), minitorch.tensor([1, 2],
                                                                        dtype=minitorch.int32))],
           "b": Point(minitorch.ones(2, 3).t(), 3), "leaf": minitorch.ones(2, requires_grad=True)}
    back = _worker.loads(_worker.dumps(obj))
    assert _signature(back) == _signature(obj)
    assert [x.dtype for x in back["a"][1]] == [minitorch.bool, minitorch.int32]
    assert back["leaf"].requires_grad and back["a"][0] is not t
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor"):
        _worker.dumps(minitorch.ones(2, requires_grad=True) * 2)


def test_exception_wrapper_reraises_with_traceback():
    try:
        {}["missing"]
    except KeyError:
        wrapped = _worker.ExceptionWrapper(where="in DataLoader worker process 3")
    with pytest.raises(KeyError) as e:
        _worker.loads(_worker.dumps(wrapped)).reraise()
    text = str(e.value)
    assert text.startswith("Caught KeyError in DataLoader worker process 3.\nOriginal Traceback")
    assert "'missing'" in text and "test_data.py" in text


# -- DataLoader with worker processes --------------------------------------------------------

@pytest.fixture
def alarm():
    """Fail (instead of hanging the suite) if a multiprocess test takes over 30 s."""
    def on_alarm(signum, frame):
        raise TimeoutError("DataLoader test did not finish in 30 s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _workers_reaped(workers):
    return all(w.exitcode is not None for w in workers)


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_workers_give_same_batches_as_single_process(alarm, context):
    ds = DictDataset(11)
    single = list(DataLoader(ds, batch_size=3, shuffle=True, generator=_gen(5)))
    it = iter(DataLoader(ds, batch_size=3, shuffle=True, generator=_gen(5), num_workers=2,
                         multiprocessing_context=context))
    workers = list(it._workers)
    multi = list(it)
    assert [_signature(b) for b in multi] == [_signature(b) for b in single]
    assert multi[0]["x"].dtype == minitorch.float32 and multi[0]["a"].dtype == minitorch.int32
    assert _workers_reaped(workers)  # exhausted: shut down, no zombies
    if context == "spawn":  # tensors inside the dataset travel to spawned workers too
        tds = _tensor_ds(minitorch, 7)
        out = DataLoader(tds, batch_size=2, num_workers=2, multiprocessing_context=context)
        assert [_signature(b) for b in out] == [_signature(b) for b in DataLoader(tds, 2)]


def test_worker_init_fn_info_and_seeds(alarm):
    def run(seed):
        return list(DataLoader(WorkerInfoDataset(6), batch_size=None, num_workers=2,
                               worker_init_fn=record_init, generator=_gen(seed)))
    out = run(1)
    assert [r[0] for r in out] == list(range(6))
    assert [r[1] for r in out] == [0, 1, 0, 1, 0, 1]  # round robin over the workers
    seeds = {r[1]: r[2] for r in out}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id
    marks = {r[1]: r[4] for r in out}
    assert marks[0].startswith("init0:") and marks[1].startswith("init1:")
    assert marks[0] != marks[1]  # two processes, each ran worker_init_fn
    for first in out[:2]:  # each worker's first draw comes from manual_seed(its seed)
        assert first[3] == minitorch.rand(1, generator=_gen(first[2])).item()
    assert [r[3] for r in out] == [r[3] for r in run(1)]  # reproducible
    assert [r[2] for r in run(2)] != [r[2] for r in out]


def test_worker_exception_is_reraised_with_traceback(alarm):
    it = iter(DataLoader(RaisingDataset(8, 5), batch_size=2, num_workers=2))
    assert next(it).tolist() == [0, 1] and next(it).tolist() == [2, 3]
    with pytest.raises(ValueError) as e:
        next(it)
    text = str(e.value)
    assert "Caught ValueError in DataLoader worker process 0." in text
    assert "Original Traceback (most recent call last):" in text
    assert "_data_helpers.py" in text and "bad sample 5" in text
    assert next(it).tolist() == [6, 7]  # the loader goes on, like PyTorch's


def test_dead_worker_raises_quickly(alarm):
    start = time.monotonic()
    it = iter(DataLoader(ExitingDataset(8, 3), batch_size=2, num_workers=2))
    workers = list(it._workers)
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited "
                                           r"unexpectedly"):
        list(it)
    assert time.monotonic() - start < 10
    del it
    gc.collect()
    assert _workers_reaped(workers)


def test_timeout_and_early_stop_shut_down(alarm):
    it = iter(DataLoader(SlowDataset(4, 1.0), num_workers=1, timeout=0.3))
    workers = list(it._workers)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.3 seconds"):
        next(it)
    assert time.monotonic() - start < 2
    del it
    gc.collect()
    assert _workers_reaped(workers)  # garbage-collected iterator: workers stopped and reaped


def test_iterable_dataset_with_workers(alarm):
    split = DataLoader(RangeIterable(0, 7), batch_size=2, num_workers=2)
    assert [b.tolist() for b in split] == [[0, 1], [4, 5], [2, 3], [6]]
    dup = DataLoader(RangeIterable(0, 3, split=False), batch_size=2, num_workers=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(dup) == 2
        # each worker iterates its own copy: every sample twice (documented, like PyTorch)
        assert sorted(sum((b.tolist() for b in dup), [])) == [0, 0, 1, 1, 2, 2]


def test_persistent_workers_reuse_processes(alarm):
    dl = DataLoader(DictDataset(5), batch_size=2, num_workers=2, persistent_workers=True)
    first = [b["y"].tolist() for b in dl]
    pids = [w.pid for w in dl._iterator._workers]
    it = iter(dl)
    next(it)  # stop mid-epoch, then start again
    assert [b["y"].tolist() for b in dl] == first == [[0, 1], [2, 3], [4]]
    assert [w.pid for w in dl._iterator._workers] == pids
    workers = dl._iterator._workers
    dl._iterator._shutdown_workers()
    assert _workers_reaped(workers)
