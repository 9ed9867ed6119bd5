"""Line plots as PNG files with the standard library only (no matplotlib, no NumPy).

    from _plot import Panel, Series, save_png
    save_png("curves.png", [
        Panel("loss", [Series("train", epochs, train_loss), Series("test", epochs, test_loss)],
              log_y=True),
        Panel("accuracy", [Series("test", epochs, test_acc)]),
    ], xlabel="epoch")

How it works: an RGB canvas is a ``bytearray`` (3 bytes per pixel, rows top to bottom).
Each panel gets a frame, "nice" ticks (1, 2 or 5 times a power of ten; decades on a log
axis) with grid lines and labels, and one polyline per series, drawn with Bresenham's
algorithm and thickened by stamping a small square at every pixel.  Text uses a built-in
5x7 bitmap font (lower-case letters, digits and a little punctuation; upper case is drawn
as lower case).  The PNG writer is the format's minimum: the signature, an IHDR chunk
(8-bit RGB), one IDAT chunk holding the zlib-compressed rows (each prefixed by filter
type 0) and IEND, each chunk with its CRC-32.
"""
from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

Color = Tuple[int, int, int]

PALETTE: List[Color] = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
                        (148, 103, 189), (140, 86, 75)]
WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)
GRID: Color = (225, 225, 225)
TEXT: Color = (40, 40, 40)

# 5x7 glyphs, one string of 7 rows per character ('#' = ink)
_FONT_ROWS = {
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    "a": "..... ..... .###. ....# .#### #...# .####",
    "b": "#.... #.... #.##. ##..# #...# #...# ####.",
    "c": "..... ..... .###. #.... #.... #...# .###.",
    "d": "....# ....# .##.# #..## #...# #...# .####",
    "e": "..... ..... .###. #...# ##### #.... .###.",
    "f": "..##. .#..# .#... ###.. .#... .#... .#...",
    "g": "..... .#### #...# #...# .#### ....# .###.",
    "h": "#.... #.... #.##. ##..# #...# #...# #...#",
    "i": "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.",
    "j": "...#. ..... ..##. ...#. ...#. #..#. .##..",
    "k": "#.... #.... #..#. #.#.. ##... #.#.. #..#.",
    "l": ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "m": "..... ..... ##.#. #.#.# #.#.# #...# #...#",
    "n": "..... ..... #.##. ##..# #...# #...# #...#",
    "o": "..... ..... .###. #...# #...# #...# .###.",
    "p": "..... ..... ####. #...# ####. #.... #....",
    "q": "..... ..... .##.# #..## .#### ....# ....#",
    "r": "..... ..... #.##. ##..# #.... #.... #....",
    "s": "..... ..... .###. #.... .###. ....# ####.",
    "t": ".#... .#... ###.. .#... .#... .#..# ..##.",
    "u": "..... ..... #...# #...# #...# #..## .##.#",
    "v": "..... ..... #...# #...# #...# .#.#. ..#..",
    "w": "..... ..... #...# #...# #.#.# #.#.# .#.#.",
    "x": "..... ..... #...# .#.#. ..#.. .#.#. #...#",
    "y": "..... ..... #...# #...# .#### ....# .###.",
    "z": "..... ..... ##### ...#. ..#.. .#... #####",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    "-": "..... ..... ..... ##### ..... ..... .....",
    "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    "=": "..... ..... ##### ..... ##### ..... .....",
    "%": "##... ##..# ...#. ..#.. .#... #..## ...##",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "/": "..... ....# ...#. ..#.. .#... #.... .....",
    "_": "..... ..... ..... ..... ..... ..... #####",
    " ": "..... ..... ..... ..... ..... ..... .....",
}
FONT = {ch: [row for row in rows.split()] for ch, rows in _FONT_ROWS.items()}
GLYPH_W, GLYPH_H = 5, 7


class Canvas:
    """An RGB image in a bytearray, with the few drawing operations a line plot needs."""

    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def set(self, x: int, y: int, color: Color) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            i = 3 * (y * self.width + x)
            self.pixels[i:i + 3] = bytes(color)

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """Fill the rectangle with corners (x0, y0) and (x1, y1), both included."""
        x0, x1 = max(min(x0, x1), 0), min(max(x0, x1), self.width - 1)
        y0, y1 = max(min(y0, y1), 0), min(max(y0, y1), self.height - 1)
        if x0 > x1:
            return
        row = bytes(color) * (x1 - x0 + 1)
        for y in range(y0, y1 + 1):
            i = 3 * (y * self.width + x0)
            self.pixels[i:i + len(row)] = row

    def line(self, x0: int, y0: int, x1: int, y1: int, color: Color, width: int = 1) -> None:
        """Bresenham's line from (x0, y0) to (x1, y1); ``width`` > 1 stamps a square."""
        lo, hi = -((width - 1) // 2), width // 2
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            if width == 1:
                self.set(x0, y0, color)
            else:
                self.rect(x0 + lo, y0 + lo, x0 + hi, y0 + hi, color)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x: int, y: int, s: str, color: Color = TEXT, scale: int = 1,
             anchor: str = "left") -> None:
        """Draw ``s`` with its top at ``y``; ``anchor`` 'left', 'center' or 'right' at x."""
        w = text_width(s, scale)
        if anchor == "center":
            x -= w // 2
        elif anchor == "right":
            x -= w
        for ch in s.lower():
            glyph = FONT.get(ch, FONT[" "])
            for r, row in enumerate(glyph):
                for c, bit in enumerate(row):
                    if bit == "#":
                        self.rect(x + c * scale, y + r * scale, x + (c + 1) * scale - 1,
                                  y + (r + 1) * scale - 1, color)
            x += (GLYPH_W + 1) * scale

    def to_png(self) -> bytes:
        """The image as PNG bytes (8-bit RGB, filter type 0 on every row)."""
        stride = 3 * self.width
        raw = b"".join(b"\x00" + bytes(self.pixels[y * stride:(y + 1) * stride])
                       for y in range(self.height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return (struct.pack(">I", len(data)) + kind + data
                    + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def text_width(s: str, scale: int = 1) -> int:
    return max(len(s) * (GLYPH_W + 1) - 1, 0) * scale


# -- axes ------------------------------------------------------------------------------------

def nice_ticks(lo: float, hi: float, target: int = 5) -> List[float]:
    """Round tick values (1, 2 or 5 x 10^k apart) covering [lo, hi]."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    # the step whose tick count comes closest to target
    step = min((m * mag for m in (1, 2, 5, 10)),
               key=lambda st: abs((hi - lo) / st - target))
    first = math.floor(lo / step + 1e-9) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        if t >= lo - step * 1e-9:
            ticks.append(round(t, 12))
        t += step
    return ticks


def format_tick(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        m, e = f"{v:.0e}".split("e")
        return f"{m}e{int(e)}"
    return f"{v:.6f}".rstrip("0").rstrip(".")


@dataclass
class Series:
    label: str
    x: Sequence[float]
    y: Sequence[float]
    color: Optional[Color] = None


@dataclass
class Panel:
    title: str
    series: List[Series] = field(default_factory=list)
    log_y: bool = False
    y_range: Optional[Tuple[float, float]] = None  # fixed (lo, hi) instead of the data's
    legend: str = "upper right"                     # or "lower right"


def _y_axis(panel: Panel) -> Tuple[float, float, List[float], List[str]]:
    """(lo, hi, ticks, labels) in axis units (log10 of the values on a log axis)."""
    ys = [v for s in panel.series for v in s.y if math.isfinite(v) and (v > 0 or not panel.log_y)]
    if panel.y_range is not None:
        lo, hi = panel.y_range
    elif ys:
        lo, hi = min(ys), max(ys)
    else:
        lo, hi = 0.0, 1.0
    if panel.log_y:
        lo, hi = math.log10(max(lo, 1e-300)), math.log10(max(hi, 1e-300))
        lo, hi = math.floor(lo), max(math.ceil(hi), math.floor(lo) + 1)
        ticks = [float(k) for k in range(int(lo), int(hi) + 1)]
        step = max(1, math.ceil(len(ticks) / 6))
        ticks = ticks[::step]
        return lo, hi, ticks, [format_tick(10 ** t) for t in ticks]
    if panel.y_range is None:
        pad = 0.05 * (hi - lo or abs(hi) or 1.0)
        lo, hi = lo - pad, hi + pad
    ticks = nice_ticks(lo, hi)
    return lo, hi, ticks, [format_tick(t) for t in ticks]


def _draw_panel(cv: Canvas, panel: Panel, box: Tuple[int, int, int, int], xlabel: str) -> None:
    left, top, right, bottom = box
    cv.text((left + right) // 2, top - 20, panel.title, scale=2, anchor="center")
    xs = [v for s in panel.series for v in s.x]
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x_hi == x_lo:
        x_hi = x_lo + 1
    y_lo, y_hi, y_ticks, y_labels = _y_axis(panel)
    if y_hi == y_lo:
        y_hi = y_lo + 1

    def px(x: float) -> int:
        return round(left + (x - x_lo) / (x_hi - x_lo) * (right - left))

    def py(y: float) -> int:
        if panel.log_y:
            y = math.log10(y) if y > 0 else y_lo
        y = min(max(y, y_lo), y_hi)
        return round(bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top))

    for t, label in zip(y_ticks, y_labels):  # horizontal grid, y labels
        yy = round(bottom - (t - y_lo) / (y_hi - y_lo) * (bottom - top))
        cv.line(left, yy, right, yy, GRID)
        cv.line(left - 4, yy, left, yy, BLACK)
        cv.text(left - 7, yy - 3, label, anchor="right")
    for t in nice_ticks(x_lo, x_hi, 6):  # vertical grid, x labels
        xx = px(t)
        cv.line(xx, top, xx, bottom, GRID)
        cv.line(xx, bottom, xx, bottom + 4, BLACK)
        cv.text(xx, bottom + 8, format_tick(t), anchor="center")
    cv.text((left + right) // 2, bottom + 22, xlabel, anchor="center")
    for x0, y0, x1, y1 in ((left, top, right, top), (left, bottom, right, bottom),
                           (left, top, left, bottom), (right, top, right, bottom)):
        cv.line(x0, y0, x1, y1, BLACK)

    for i, s in enumerate(panel.series):
        color = s.color or PALETTE[i % len(PALETTE)]
        pts = [(px(x), py(y)) for x, y in zip(s.x, s.y) if math.isfinite(y)]
        for (xa, ya), (xb, yb) in zip(pts, pts[1:]):
            cv.line(xa, ya, xb, yb, color, width=2)
        if len(pts) == 1:
            cv.rect(pts[0][0] - 2, pts[0][1] - 2, pts[0][0] + 2, pts[0][1] + 2, color)
        # legend, top right inside the frame, with the last value
        last = f" {s.y[-1]:.3g}" if len(s.y) else ""
        label = s.label + last
        lx = right - 8 - text_width(label) - 22
        if panel.legend == "lower right":
            ly = bottom - 8 - 12 * (len(panel.series) - i)
        else:
            ly = top + 8 + 12 * i
        cv.rect(lx - 4, ly - 3, right - 5, ly + 9, WHITE)
        cv.line(lx, ly + 3, lx + 16, ly + 3, color, width=2)
        cv.text(lx + 22, ly, label)


def render(panels: Sequence[Panel], width: int = 0, height: int = 300,
           xlabel: str = "epoch") -> Canvas:
    """Draw ``panels`` side by side (each 400 px wide unless ``width`` is given)."""
    n = max(len(panels), 1)
    width = width or 400 * n
    cv = Canvas(width, height)
    pw = width // n
    for i, panel in enumerate(panels):
        x0 = i * pw
        _draw_panel(cv, panel, (x0 + 60, 36, x0 + pw - 16, height - 40), xlabel)
    return cv


def save_png(path, panels: Sequence[Panel], width: int = 0, height: int = 300,
             xlabel: str = "epoch") -> None:
    """Render ``panels`` and write them to ``path`` as a PNG."""
    data = render(panels, width, height, xlabel).to_png()
    with open(path, "wb") as f:
        f.write(data)
