"""A tiny tqdm-like progress bar for the examples (standard library only).

    bar = progress(loader, desc="epoch 1/10")
    for xb, yb in bar:
        ...
        bar.set_postfix(f"loss {loss:.3f}")

It redraws one line on stderr (``\\r``) at most every ``min_interval`` seconds; when the
iteration is done it ends that line with a newline, or erases it (``leave=False``).  It
draws nothing when ``disable`` is true or when stderr is not a terminal (CI logs, pytest,
pipes), so the examples' output stays clean there.
"""
from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, Optional, TextIO, TypeVar

T = TypeVar("T")


class progress(Iterable[T]):  # noqa: N801 - used like a function, as tqdm is
    def __init__(self, iterable: Iterable[T], total: Optional[int] = None, desc: str = "",
                 disable: bool = False, width: int = 30, min_interval: float = 0.1,
                 file: Optional[TextIO] = None, leave: bool = True) -> None:
        self.iterable = iterable
        if total is None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.total = total
        self.desc = desc
        self.width = width
        self.min_interval = min_interval
        self.file = file if file is not None else sys.stderr
        isatty = getattr(self.file, "isatty", None)
        self.disable = disable or not (callable(isatty) and isatty())
        self.leave = leave
        self.postfix = ""
        self._width_drawn = 0
        self.n = 0
        self._start = self._last = 0.0

    def set_postfix(self, text: str) -> None:
        """Text shown after the counter (e.g. the running loss)."""
        self.postfix = text

    def _line(self) -> str:
        elapsed = time.perf_counter() - self._start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            frac = min(self.n / self.total, 1.0)
            filled = int(frac * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            left = (self.total - self.n) / rate if rate > 0 else 0.0
            body = (f"{100 * frac:3.0f}%|{bar}| {self.n}/{self.total} "
                    f"[{elapsed:.1f}s<{left:.1f}s, {rate:.1f}it/s]")
        else:
            body = f"{self.n}it [{elapsed:.1f}s, {rate:.1f}it/s]"
        tail = f" {self.postfix}" if self.postfix else ""
        return head + body + tail

    def _draw(self, final: bool = False) -> None:
        line = self._line()
        pad = " " * max(self._width_drawn - len(line), 0)  # erase a longer previous line
        self._width_drawn = len(line)
        if final and not self.leave:
            self.file.write("\r" + " " * len(line) + "\r")
        else:
            self.file.write("\r" + line + pad + ("\n" if final else ""))
        self.file.flush()

    def __iter__(self) -> Iterator[T]:
        if self.disable:
            yield from self.iterable
            return
        self._start = self._last = time.perf_counter()
        self.n = 0
        self._draw()
        try:
            for item in self.iterable:
                yield item
                self.n += 1
                now = time.perf_counter()
                if now - self._last >= self.min_interval:
                    self._last = now
                    self._draw()
        finally:
            self._draw(final=True)

    def __len__(self) -> int:
        if self.total is None:
            raise TypeError("progress over an iterable of unknown length")
        return self.total
