"""A tiny line-plot PNG writer in pure Python (zlib + struct), so train_small.py never needs matplotlib.

plot_png(path, panels): panels is a list of dicts {"title": str, "log": bool, "series": {label: [(x, y)]}},
drawn one above the other with a shared legend. Text is a 3x5 bitmap font, upper case only.
"""
import math
import struct
import zlib

COLORS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14)]
_FONT = {  # rows of 3 bits, top to bottom
    "0": (7, 5, 5, 5, 7), "1": (2, 6, 2, 2, 7), "2": (7, 1, 7, 4, 7), "3": (7, 1, 7, 1, 7), "4": (5, 5, 7, 1, 1),
    "5": (7, 4, 7, 1, 7), "6": (7, 4, 7, 5, 7), "7": (7, 1, 1, 1, 1), "8": (7, 5, 7, 5, 7), "9": (7, 5, 7, 1, 7),
    "A": (2, 5, 7, 5, 5), "B": (6, 5, 6, 5, 6), "C": (3, 4, 4, 4, 3), "D": (6, 5, 5, 5, 6), "E": (7, 4, 6, 4, 7),
    "F": (7, 4, 6, 4, 4), "G": (3, 4, 5, 5, 3), "H": (5, 5, 7, 5, 5), "I": (7, 2, 2, 2, 7), "J": (1, 1, 1, 5, 2),
    "K": (5, 5, 6, 5, 5), "L": (4, 4, 4, 4, 7), "M": (5, 7, 7, 5, 5), "N": (6, 5, 5, 5, 5), "O": (2, 5, 5, 5, 2),
    "P": (6, 5, 6, 4, 4), "Q": (2, 5, 5, 6, 3), "R": (6, 5, 6, 5, 5), "S": (3, 4, 2, 1, 6), "T": (7, 2, 2, 2, 2),
    "U": (5, 5, 5, 5, 7), "V": (5, 5, 5, 5, 2), "W": (5, 5, 7, 7, 5), "X": (5, 5, 2, 5, 5), "Y": (5, 5, 2, 2, 2),
    "Z": (7, 1, 2, 4, 7), "_": (0, 0, 0, 0, 7), ".": (0, 0, 0, 0, 2), "-": (0, 0, 7, 0, 0), "+": (0, 2, 7, 2, 0),
    "(": (1, 2, 2, 2, 1), ")": (4, 2, 2, 2, 4), ":": (0, 2, 0, 2, 0), "/": (1, 1, 2, 4, 4), "=": (0, 7, 0, 7, 0),
    " ": (0, 0, 0, 0, 0),
}


class Canvas:
    def __init__(self, width, height):
        self.w, self.h = width, height
        self.px = bytearray(b"\xff" * (width * height * 3))

    def dot(self, x, y, c):
        if 0 <= x < self.w and 0 <= y < self.h:
            i = (y * self.w + x) * 3
            self.px[i:i + 3] = bytes(c)

    def line(self, x0, y0, x1, y1, c):  # Bresenham
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            self.dot(x0, y0, c)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err, x0 = err + dy, x0 + sx
            if e2 <= dx:
                err, y0 = err + dx, y0 + sy

    def text(self, x, y, s, c=(0, 0, 0), scale=2):
        for ch in s.upper():
            for r, bits in enumerate(_FONT.get(ch, _FONT[" "])):
                for col in range(3):
                    if bits >> (2 - col) & 1:
                        for dy in range(scale):
                            for dx in range(scale):
                                self.dot(x + col * scale + dx, y + r * scale + dy, c)
            x += 4 * scale

    def png(self):
        raw = b"".join(b"\x00" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3]) for y in range(self.h))

        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)  # 8-bit RGB
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + \
            chunk(b"IEND", b"")


def _fmt(v):
    return f"{v:.3g}"


def plot_png(path, panels, width=960, panel_height=300):
    left, right, top, gap = 90, 20, 40, 50
    c = Canvas(width, top + len(panels) * (panel_height + gap))
    labels = list(dict.fromkeys(label for p in panels for label in p["series"]))
    for i, label in enumerate(labels):  # the legend, across the top
        x = left + i * 220
        c.line(x, 18, x + 30, 18, COLORS[i % len(COLORS)])
        c.line(x, 19, x + 30, 19, COLORS[i % len(COLORS)])
        c.text(x + 38, 13, label)
    for n, panel in enumerate(panels):
        y0 = top + n * (panel_height + gap) + 20
        x0, x1, y1 = left, width - right, y0 + panel_height - 20
        f = (lambda v: math.log10(v)) if panel.get("log") else (lambda v: v)
        pts = {k: [(x, f(y)) for x, y in s if math.isfinite(y) and (y > 0 or not panel.get("log"))]
               for k, s in panel["series"].items()}
        xs = [x for s in pts.values() for x, _ in s] or [0, 1]
        ys = [y for s in pts.values() for _, y in s] or [0, 1]
        xmin, xmax, ymin, ymax = min(xs), max(xs), min(ys), max(ys)
        xmax, ymax = (xmax if xmax > xmin else xmin + 1), (ymax if ymax > ymin else ymin + 1)
        for a, b in (((x0, y0), (x1, y0)), ((x0, y1), (x1, y1)), ((x0, y0), (x0, y1)), ((x1, y0), (x1, y1))):
            c.line(*a, *b, (0, 0, 0))
        c.text(x0, y0 - 16, panel["title"])
        unlog = (lambda v: 10 ** v) if panel.get("log") else (lambda v: v)
        c.text(4, y0, _fmt(unlog(ymax)))
        c.text(4, y1 - 10, _fmt(unlog(ymin)))
        c.text(x0, y1 + 6, _fmt(xmin))
        c.text(x1 - 40, y1 + 6, _fmt(xmax))
        for i, label in enumerate(labels):
            prev = None
            for x, y in pts.get(label, []):
                p = (x0 + round((x - xmin) / (xmax - xmin) * (x1 - x0)),
                     y1 - round((y - ymin) / (ymax - ymin) * (y1 - y0)))
                if prev is not None:
                    c.line(*prev, *p, COLORS[i % len(COLORS)])
                prev = p
    with open(path, "wb") as fh:
        fh.write(c.png())
