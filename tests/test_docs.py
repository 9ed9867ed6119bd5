"""Docs that lie are defects: every example in README.md and docs/ runs, and prints what the
docs say it prints.

* Every script ``docs/*.py`` runs in a subprocess (with ``SCRIPT_ARGS``, e.g. a check mode)
  and exits 0.
* Every ```` ```python ```` block of README.md and ``docs/**/*.md`` runs in a fresh
  subprocess, with the repository on ``sys.path`` and a temporary directory as the working
  directory.  When the block is directly followed by an output block (```` ``` ```` or
  ```` ```text ````, nothing but blank lines in between), its stdout -- and, if it raised,
  the exception line(s) as Python prints them last in a traceback -- must equal that block,
  whitespace normalized (runs of spaces collapse, blank lines and indentation do not count).
  A line ``...`` in an output block stands for any number of lines.  A block without an
  output block must not raise.
* A block can carry one marker, either as an HTML comment on the line above its fence
  (invisible on GitHub) or as the block's first line::

      <!-- doc-test: skip (needs a GPU) -->      # doc-test: skip (needs a GPU)

  ``skip (<reason>)``      not run; the reason is required.
  ``continue``             run in the same process as the previous block of the file, after
                           it (the session of a tutorial that builds on earlier blocks).
  ``excerpt <path>``       a fragment of the file ``<path>`` (relative to the repository):
                           not run, but each of its lines of code must occur in that file, in
                           order (comments and spacing do not count; ``...`` lines are
                           skipped), so it cannot drift from the file.
  ``output of <script>``   (on an output block) the stdout of ``python <script>`` (from the
                           repository root) must match this block.

  Anything else after ``doc-test:`` is an error, so a typo cannot silently skip a block.
* docs/design.md §7 "Differences from PyTorch": each bullet's bold title has a check below
  (``SECTION7``) that asserts the difference still exists, in minitorch and in PyTorch; an
  item without a check, or a check without an item, fails.

The whole file runs in about 30 s on a warm kernel cache.
"""
from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import minitorch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = [os.path.join(ROOT, "README.md")] + sorted(
    glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
SCRIPTS = sorted(glob.glob(os.path.join(ROOT, "docs", "*.py")))
SCRIPT_ARGS = {"gen_primitives.py": ["--check"]}   # the short / side-effect-free mode
TIMEOUT = 180

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`]*)$")
_MARK_HTML = re.compile(r"^\s*<!--\s*doc-test:\s*(?P<d>.*?)\s*-->\s*$")
_MARK_LINE = re.compile(r"^\s*#\s*doc-test:\s*(?P<d>.*?)\s*$")
_DIRECTIVE = re.compile(r"^(?:skip \((?P<reason>.+)\)|(?P<cont>continue)|"
                        r"excerpt (?P<excerpt>\S+)|output of (?P<script>\S+))$")


def rel(path: str) -> str:
    return os.path.relpath(path, ROOT)


class Block:
    def __init__(self, path, line, info, text, directive):
        self.path, self.line, self.info, self.text = path, line, info, text
        self.directive = directive
        self.output = None          # the Block of the output that follows, if any
        m = _DIRECTIVE.match(directive) if directive else None
        if directive and m is None:
            raise ValueError(f"{self.where}: unknown marker 'doc-test: {directive}' (see "
                             f"tests/test_docs.py for the markers)")
        g = m.groupdict() if m else {}
        self.skip, self.cont = g.get("reason"), bool(g.get("cont"))
        self.excerpt, self.output_of = g.get("excerpt"), g.get("script")

    @property
    def where(self):
        return f"{rel(self.path)}:{self.line}"

    @property
    def is_python(self):
        return self.info in ("python", "py", "python3")

    @property
    def is_output(self):
        return self.info in ("", "text")


def parse(path: str):
    """The fenced blocks of a markdown file, each with its marker and following output."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, i, prev_end = [], 0, None
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = len(m.group("indent")), m.group("fence"), m.group("info").strip()
        j = i + 1
        while j < len(lines) and not (lines[j].strip() == fence and
                                       len(lines[j]) - len(lines[j].lstrip()) <= indent + 3):
            j += 1
        body = [ln[indent:] if ln[:indent].strip() == "" else ln.lstrip()
                for ln in lines[i + 1:j]]
        directive = None
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        if k >= 0 and _MARK_HTML.match(lines[k]):
            directive = _MARK_HTML.match(lines[k]).group("d")
        elif body and _MARK_LINE.match(body[0]):
            directive = _MARK_LINE.match(body[0]).group("d")
            body = body[1:]
        b = Block(path, i + 1, info, "\n".join(body) + "\n", directive)
        gap = lines[prev_end + 1:i] if prev_end is not None else ["x"]
        if blocks and blocks[-1].is_python and b.is_output and not b.output_of \
                and not any(s.strip() for s in gap):
            blocks[-1].output = b
        blocks.append(b)
        prev_end = j
        i = j + 1
    return blocks


def all_blocks():
    out = []
    for p in DOCS:
        out += parse(p)
    return out


def sessions():
    """Runnable python blocks grouped into sessions (a block and its ``continue`` blocks)."""
    result = []
    for p in DOCS:
        cur = None
        for b in parse(p):
            if not b.is_python or b.skip or b.excerpt:
                continue
            if b.cont:
                if cur is None:
                    raise ValueError(f"{b.where}: 'doc-test: continue' with no block before it")
                cur.append(b)
            else:
                cur = [b]
                result.append(cur)
    return result


# ---- running -----------------------------------------------------------------------------------
_RUNNER = r"""
import json, sys, traceback
blocks = json.load(open(sys.argv[1]))
ns = {"__name__": "__main__"}
for i, (where, code) in enumerate(blocks):
    print(f"\0doc-test-block {i}\0", flush=True)
    try:
        exec(compile(code, where, "exec"), ns)
    except BaseException as e:
        sys.stdout.flush()
        print("".join(traceback.format_exception_only(type(e), e)), end="", flush=True)
        print(f"\0doc-test-raised {i}\0", flush=True)
        traceback.print_exc()
    sys.stdout.flush()
"""


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    for k in ("MINITORCH_DEBUG", "MINITORCH_CUDASIM_ASAN"):
        env.pop(k, None)
    env["MPLBACKEND"] = "Agg"
    return env


def run_session(blocks, tmp_path):
    spec = tmp_path / "blocks.json"
    spec.write_text(json.dumps([(b.where, b.text) for b in blocks]))
    work = tmp_path / "cwd"
    work.mkdir()
    r = subprocess.run([sys.executable, "-c", _RUNNER, str(spec)], cwd=work, env=_env(),
                       capture_output=True, text=True, timeout=TIMEOUT)
    parts = re.split(r"\0doc-test-block \d+\0\n", r.stdout)[1:]
    if r.returncode or len(parts) != len(blocks):
        pytest.fail(f"{blocks[0].where}: the session died (returncode {r.returncode})\n"
                    f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    out = []
    for p in parts:
        raised = re.search(r"\0doc-test-raised \d+\0\n", p)
        out.append((p[:raised.start()] if raised else p, bool(raised)))
    return out, r.stderr


def normalize(text: str):
    return [" ".join(ln.split()) for ln in text.splitlines() if ln.strip()]


def matches(expected: str, actual: str) -> bool:
    """Whitespace-normalized equality; an expected line ``...`` matches any lines."""
    exp, act = normalize(expected), normalize(actual)
    pat = "".join(r"(?:[^\n]*\n)*?" if ln == "..." else re.escape(ln) + r"\n" for ln in exp)
    return re.fullmatch(pat, "".join(ln + "\n" for ln in act)) is not None


def _diff(expected, actual):
    import difflib
    return "\n".join(difflib.unified_diff(normalize(expected), normalize(actual), "the docs",
                                          "the run", lineterm=""))


SESSIONS = sessions()


@pytest.mark.parametrize("blocks", SESSIONS, ids=[s[0].where for s in SESSIONS])
def test_doc_code_block_runs_and_prints_what_the_docs_show(blocks, tmp_path):
    results, stderr = run_session(blocks, tmp_path)
    for b, (out, raised) in zip(blocks, results):
        if b.output is None:
            assert not raised, (f"{b.where}: the block raised (and no output block shows an "
                                f"error):\n{out}\n{stderr[-3000:]}")
            continue
        assert matches(b.output.text, out), (
            f"{b.where}: the output differs from the block at {b.output.where}\n"
            f"{_diff(b.output.text, out)}\n{stderr[-2000:] if raised else ''}")


EXCERPTS = [b for b in all_blocks() if b.excerpt]


def code_lines(text: str):
    """Lines of code, comments dropped (a ``#`` outside string literals), spaces normalized."""
    out = []
    for ln in text.splitlines():
        quote, i = None, 0
        while i < len(ln):
            c = ln[i]
            if quote:
                if c == "\\":
                    i += 1
                elif c == quote:
                    quote = None
            elif c in "'\"":
                quote = c
            elif c == "#":
                ln = ln[:i]
                break
            i += 1
        ln = " ".join(ln.split())
        if ln:
            out.append(ln)
    return out


@pytest.mark.parametrize("block", EXCERPTS, ids=[b.where for b in EXCERPTS])
def test_doc_excerpt_is_in_its_file(block):
    src = os.path.join(ROOT, block.excerpt)
    assert os.path.isfile(src), f"{block.where}: excerpt of {block.excerpt}, which does not exist"
    have = code_lines(open(src, encoding="utf-8").read())
    pos = 0
    for ln in code_lines(block.text):
        if ln == "...":
            continue
        try:
            pos = have.index(ln, pos) + 1
        except ValueError:
            pytest.fail(f"{block.where}: this line of the excerpt is not in {block.excerpt} "
                        f"(after the lines matched before it):\n    {ln}")


def test_every_marker_is_understood_and_skips_give_a_reason():
    n = 0
    for b in all_blocks():       # parse() raises for an unknown marker
        if b.directive:
            n += 1
            assert not (b.skip is not None and not b.skip.strip()), b.where
            if b.cont or b.excerpt or b.skip:
                assert b.is_python, f"{b.where}: '{b.directive}' on a non-python block"
    assert n > 0


# ---- docs/*.py ---------------------------------------------------------------------------------
_SCRIPT_RUNS: dict = {}


def run_script(path):
    if path not in _SCRIPT_RUNS:
        args = SCRIPT_ARGS.get(os.path.basename(path), [])
        _SCRIPT_RUNS[path] = subprocess.run([sys.executable, path, *args], cwd=ROOT,
                                            env=_env(), capture_output=True, text=True,
                                            timeout=TIMEOUT)
    return _SCRIPT_RUNS[path]


@pytest.mark.parametrize("path", SCRIPTS, ids=[os.path.basename(p) for p in SCRIPTS])
def test_doc_script_runs(path):
    r = run_script(path)
    assert r.returncode == 0, f"{rel(path)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    assert "gradcheck=False" not in r.stdout and "Traceback" not in r.stderr


OUTPUTS_OF = [b for b in all_blocks() if b.output_of]


@pytest.mark.parametrize("block", OUTPUTS_OF, ids=[b.where for b in OUTPUTS_OF])
def test_doc_shows_the_real_output_of_its_script(block):
    if "cuda" in block.text and minitorch.cuda.is_available():
        pytest.skip("the block shows the run on a machine without a GPU")
    r = run_script(os.path.join(ROOT, block.output_of))
    assert r.returncode == 0, r.stderr[-3000:]
    assert matches(block.text, r.stdout), (f"{block.where}: not what {block.output_of} prints\n"
                                           f"{_diff(block.text, r.stdout)}")


def test_every_python_block_is_run_or_marked():
    """Guards the parser itself: each python block is in a session, an excerpt, or skipped."""
    run = {b.where for s in SESSIONS for b in s}
    for b in all_blocks():
        if b.is_python:
            assert b.where in run or b.excerpt or b.skip, b.where
    assert len(run) >= 10


def test_the_runner_compares_and_catches(tmp_path):
    """The machinery can fail: a wrong output and an unexpected error are both reported."""
    md = tmp_path / "x.md"
    md.write_text(textwrap.dedent("""\
        ```python
        print("a   b")
        ```

        ```
        a b
        ```

        <!-- doc-test: continue -->
        ```python
        print(1 / 0)
        ```

        ```
        ZeroDivisionError: division by zero
        ```

        ```python
        # doc-test: skip (shows a fragment)
        undefined_name
        ```
        """))
    a, b, c = [x for x in parse(str(md)) if x.is_python]
    assert a.output is not None and b.cont and c.skip == "shows a fragment"
    (r1, _), (r2, raised) = run_session([a, b], tmp_path)[0]
    assert matches(a.output.text, r1) and not matches("a c", r1)
    assert raised and matches(b.output.text, r2)
    assert matches("x\n...\nz", "x\ny\ny\nz") and not matches("x\n...\nz", "x\ny")
    bad = tmp_path / "bad.md"
    bad.write_text("<!-- doc-test: skp (typo) -->\n```python\npass\n```\n")
    with pytest.raises(ValueError, match="unknown marker"):
        parse(str(bad))


# ---- docs/design.md §7, "Differences from PyTorch": one check per item --------------------------
def section7_items():
    text = open(os.path.join(ROOT, "docs", "design.md"), encoding="utf-8").read()
    m = re.search(r"^## 7\. Differences from PyTorch\n(.*?)(?=^## )", text, re.S | re.M)
    assert m, "docs/design.md has no section '## 7. Differences from PyTorch'"
    items = {}
    for bullet in re.split(r"\n(?=\* )", m.group(1)):
        t = re.match(r"\* \*\*(.+?)\*\*", bullet)
        if t:
            items[t.group(1).strip(" .:").replace("`", "")] = " ".join(bullet.split())
    return items


SECTION7: dict = {}


def item(title):
    def deco(f):
        SECTION7[title] = f
        return f
    return deco


def _raises(f):
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            f()
    except Exception as e:  # noqa: BLE001
        return e
    return w


@item("Devices")
def _devices(text, torch):
    assert not minitorch.cuda.is_available() or "cuda" in text
    if not minitorch.cuda.is_available():
        for make in (lambda: minitorch.zeros(1, device="cuda"),
                     lambda: minitorch.ones(2).to("cuda")):
            e = _raises(make)
            assert isinstance(e, RuntimeError) and "not available" in str(e)
    for dev in ("meta", "mps"):
        e = _raises(lambda: minitorch.device(dev))
        assert isinstance(e, RuntimeError), dev
    assert isinstance(_raises(lambda: minitorch.zeros(1, device="cudasim:1")), RuntimeError)
    torch.device("meta")                 # PyTorch knows it


@item("Random numbers")
def _random(text, torch):
    lists = re.findall(r"`\[([-0-9., ]+)\]`", text)
    assert len(lists) == 2, "the item quotes minitorch's and PyTorch's randn(3)"
    mine, theirs = ([float(v) for v in s.split(",")] for s in lists)
    minitorch.manual_seed(0)
    np.testing.assert_allclose(minitorch.randn(3).tolist(), mine, atol=1e-4)
    torch.manual_seed(0)
    np.testing.assert_allclose(torch.randn(3).tolist(), theirs, atol=1e-4)


@item("dtypes")
def _dtypes(text, torch):
    for name in ("uint8", "int8", "int16", "complex64"):
        assert not hasattr(minitorch, name) and hasattr(torch, name), name
    for name in ("float16", "half", "bfloat16"):  # issue 18
        assert getattr(minitorch, name).name == str(getattr(torch, name))[6:]
        assert name in text
    named = re.findall(r"`minitorch\.(\w+)`", text)     # "`minitorch.uint8` ... are
    assert named and "AttributeError" in text            # AttributeErrors"
    for name in named:
        assert isinstance(_raises(lambda: getattr(minitorch, name)), AttributeError), name
    assert minitorch.tensor(np.ones(2, np.float16)).dtype is minitorch.float16
    assert isinstance(minitorch.ones(2).bfloat16().numpy(), np.ndarray)
    for np_dt, mt_dt in ((np.uint8, minitorch.int32),
                         (np.int8, minitorch.int32), (np.int16, minitorch.int32)):
        assert minitorch.tensor(np.ones(2, np_dt)).dtype is mt_dt
        assert str(torch.tensor(np.ones(2, np_dt)).dtype) == f"torch.{np.dtype(np_dt).name}"
    assert isinstance(_raises(lambda: minitorch.tensor(np.ones(2, np.complex64))), TypeError)


@item("Slicing")
def _slicing(text, torch):
    for lib in (minitorch, torch):
        e = _raises(lambda: lib.arange(5)[::-1])
        assert isinstance(e, ValueError) and "step must be greater than zero" in str(e)


@item("NumPy warnings")
def _numpy_warnings(text, torch):
    def sqrt_grad(lib):
        x = lib.zeros(1, requires_grad=True)
        x.sqrt().sum().backward()
        return x.grad.item()
    w = _raises(lambda: sqrt_grad(minitorch))
    assert any(issubclass(x.category, RuntimeWarning) for x in w)
    assert _raises(lambda: sqrt_grad(torch)) == []
    assert sqrt_grad(minitorch) == sqrt_grad(torch) == float("inf")


@item("Float results")
def _float_results(text, torch):
    a = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    mine, theirs = minitorch.tensor(a).exp().numpy(), torch.tensor(a).exp().numpy()
    assert (mine != theirs).any()
    np.testing.assert_allclose(mine, theirs, rtol=1e-6)
    assert minitorch.tensor(a).sum().item() != torch.tensor(a).sum().item()
    g = np.random.default_rng(1)
    xwb = g.standard_normal((30, 20)), g.standard_normal((10, 20)), g.standard_normal(10)
    want = torch.nn.functional.linear(*[torch.tensor(v).bfloat16() for v in xwb]).float()
    for dev, same in (("cpu", True), ("cudasim", False)):
        got = minitorch.nn.functional.linear(
            *[minitorch.tensor(v, device=dev).bfloat16() for v in xwb]).float().cpu()
        assert bool((got.numpy() == want.numpy()).all()) is same, dev
    assert "round product plus bias once" in text


@item("next_functions")
def _next_functions(text, torch):
    n = {}
    for lib in (minitorch, torch):
        x = lib.ones(3, requires_grad=True)
        n[lib] = (len(x.sum().grad_fn.next_functions), len((x * 2).grad_fn.next_functions),
                  len((x * x).grad_fn.next_functions))
    assert n[minitorch] == (1, 1, 2) and n[torch] == (1, 2, 2), n


@item("Node names")
def _node_names(text, torch):
    names = {}
    for lib in (minitorch, torch):
        y = lib.ones(2, 3, requires_grad=True)
        z = y * 1
        z[:, 1:].mul_(2)
        w = y * 1
        w[0] = 5
        names[lib] = [y[0].grad_fn.name(), y.t().grad_fn.name(), y.view(6).grad_fn.name(),
                      (y @ y.t()).grad_fn.name(), y.mean().grad_fn.name(),
                      y.clamp(0, 1).grad_fn.name(), z.grad_fn.name(), w.grad_fn.name()]
    for m, t in zip(names[minitorch], names[torch]):
        assert m != t
        assert f"`{m}`" in text and f"`{t}`" in text, (m, t)


@item(".grad accumulation")
def _grad_accumulation(text, torch):
    kept = {}
    for lib in (minitorch, torch):
        a = lib.ones(2, requires_grad=True)
        (a * 2).sum().backward()
        g = a.grad
        (a * 2).sum().backward()
        kept[lib] = g.tolist()
        assert a.grad.tolist() == [4.0, 4.0]
    assert kept[minitorch] == [2.0, 2.0] and kept[torch] == [4.0, 4.0]


@item("inference_mode")
def _inference_mode(text, torch):
    for lib in (minitorch, torch):
        with lib.inference_mode():
            t = lib.ones(2, requires_grad=True) * 2
        assert not t.requires_grad
    assert not hasattr(minitorch.Tensor, "is_inference") and torch.ones(1).is_inference() is False


@item("Not supported")
def _not_supported(text, torch):
    import pickle
    e = _raises(lambda: minitorch.ones(2).view(minitorch.int32))
    assert isinstance(e, RuntimeError) and "use .to(dtype)" in str(e)
    assert isinstance(_raises(lambda: pickle.dumps(minitorch.ones(2))), TypeError)
    assert not hasattr(minitorch.Tensor, "to_sparse") and hasattr(torch.Tensor, "to_sparse")
    assert not hasattr(minitorch, "channels_last") and hasattr(torch, "channels_last")
    torch.ones(1).view(torch.int32)
    pickle.dumps(torch.ones(1))


@item("Memory layout of results")
def _layout(text, torch):
    x, tx = minitorch.ones(3, 4).t(), torch.ones(3, 4).t()
    assert x.double().is_contiguous() and x.double().view(-1).shape == (12,)
    assert not tx.double().is_contiguous()
    assert isinstance(_raises(lambda: tx.double().view(-1)), RuntimeError)
    assert not (x * 2).is_contiguous() and not x.exp().is_contiguous()  # cpu: kept
    assert not (tx * 2).is_contiguous()
    y = minitorch.ones(3, 4, device="cudasim").t()
    assert (y * 2).is_contiguous()  # the kernel devices: C order
    for t in (x, tx):
        assert not t.clone().is_contiguous() and t.flip(0).stride() == (1, 4)
    assert "x.t().double()" in text


@item("Error types")
def _error_types(text, torch):
    e = _raises(lambda: minitorch.tensor([1], dtype=minitorch.int32) + 2**40)
    assert isinstance(e, OverflowError)
    assert (torch.tensor([1], dtype=torch.int32) + 2**40).dtype == torch.int32   # wraps


def test_section7_has_one_check_per_item():
    items = section7_items()
    assert set(items) == set(SECTION7), (
        f"docs/design.md §7 and tests/test_docs.py disagree: items without a check "
        f"{sorted(set(items) - set(SECTION7))}, checks without an item "
        f"{sorted(set(SECTION7) - set(items))}")


@pytest.mark.parametrize("title", sorted(SECTION7))
def test_section7_item_still_holds(title):
    torch = pytest.importorskip("torch")
    items = section7_items()
    if title not in items:
        pytest.fail(f"§7 has no item {title!r} (see test_section7_has_one_check_per_item)")
    SECTION7[title](items[title], torch)


def test_extending_example_script_prints_what_extending_md_shows():
    """docs/extending_example.py is the file behind the worked example of docs/extending.md:
    its output is the two output blocks shown there (without the GradcheckError, which
    the doc provokes on purpose and the script does not)."""
    outs = [b.output for b in parse(os.path.join(ROOT, "docs", "extending.md"))
            if b.is_python and b.output is not None][:2]
    assert len(outs) == 2
    expected = outs[0].text + outs[1].text.split("minitorch.autograd.gradcheck.GradcheckError")[0]
    r = run_script(os.path.join(ROOT, "docs", "extending_example.py"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert matches(expected, r.stdout), _diff(expected, r.stdout)
