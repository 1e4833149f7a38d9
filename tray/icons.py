"""The tray's icons: one per keeper state, plus the application icon.

The PNGs in ``rolebar.assets`` are drawn by this module (``python -m rolebar.tray.icons
--write assets``) and committed, so a running tray only loads files. Each state is drawn
separately at every size rather than scaled from one large image: a glyph snapped to the
pixel grid stays sharp at 16 px, where a downscaled one turns to mush. Every badge is a
saturated disc with a dark rim and a white glyph, which reads on light and dark panels.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:  # drawing is for `--write` (and a missing file): the tray only loads
    from PIL import ImageDraw

STATES = ("idle", "fresh", "refreshing", "needs_code", "error")
SIZES = (16, 22, 24, 32, 48, 64)
APP_SIZE = 256
SUPERSAMPLE = 4

# (fill, rim): the rim is a darker shade of the fill, so the disc keeps its edge on white.
COLOURS = {
    "idle": ((138, 143, 152), (88, 92, 99)),
    "fresh": ((46, 160, 67), (26, 107, 42)),
    "refreshing": ((33, 118, 214), (18, 74, 140)),
    "needs_code": ((230, 150, 0), (150, 94, 0)),
    "error": ((210, 45, 45), (130, 20, 20)),
}
WHITE = (255, 255, 255, 255)

Glyph = Callable[["ImageDraw.ImageDraw", float], None]


def _dash(draw: ImageDraw.ImageDraw, s: float) -> None:
    draw.rounded_rectangle((0.28 * s, 0.44 * s, 0.72 * s, 0.56 * s), radius=0.06 * s, fill=WHITE)


def _check(draw: ImageDraw.ImageDraw, s: float) -> None:
    points = [(0.27 * s, 0.52 * s), (0.43 * s, 0.68 * s), (0.74 * s, 0.34 * s)]
    draw.line(points, fill=WHITE, width=max(1, round(0.13 * s)), joint="curve")


def _arrows(draw: ImageDraw.ImageDraw, s: float) -> None:
    """Two arcs chasing each other: the usual "in progress" circle."""
    width = max(1, round(0.11 * s))
    box = (0.26 * s, 0.26 * s, 0.74 * s, 0.74 * s)
    draw.arc(box, 200, 340, fill=WHITE, width=width)
    draw.arc(box, 20, 160, fill=WHITE, width=width)
    head = 0.12 * s
    for x, y, d in ((0.74 * s, 0.5 * s, 1), (0.26 * s, 0.5 * s, -1)):
        draw.polygon([(x - head, y - d * 0.02 * s), (x + head, y - d * 0.02 * s),
                      (x, y + d * head)], fill=WHITE)


def _keyhole(draw: ImageDraw.ImageDraw, s: float) -> None:
    draw.ellipse((0.37 * s, 0.22 * s, 0.63 * s, 0.48 * s), fill=WHITE)
    draw.polygon([(0.44 * s, 0.4 * s), (0.56 * s, 0.4 * s), (0.62 * s, 0.76 * s),
                  (0.38 * s, 0.76 * s)], fill=WHITE)


def _bang(draw: ImageDraw.ImageDraw, s: float) -> None:
    draw.rounded_rectangle((0.43 * s, 0.2 * s, 0.57 * s, 0.6 * s), radius=0.05 * s, fill=WHITE)
    draw.ellipse((0.42 * s, 0.66 * s, 0.58 * s, 0.82 * s), fill=WHITE)


GLYPHS: dict[str, Glyph] = {
    "idle": _dash,
    "fresh": _check,
    "refreshing": _arrows,
    "needs_code": _keyhole,
    "error": _bang,
}


def draw_state(state: str, size: int) -> Image.Image:
    """The badge for `state`, `size` pixels square, drawn large and reduced once."""
    from PIL import ImageDraw

    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    fill, rim = COLOURS[state]
    # At 16 px a one-pixel rim is all there is room for; larger sizes get a little more.
    rim_px = max(1, round(size / 16)) * SUPERSAMPLE
    inset = SUPERSAMPLE // 2
    draw.ellipse((inset, inset, big - 1 - inset, big - 1 - inset), fill=rim)
    draw.ellipse((inset + rim_px, inset + rim_px, big - 1 - inset - rim_px,
                  big - 1 - inset - rim_px), fill=fill)
    GLYPHS[state](draw, big)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def draw_app(size: int = APP_SIZE) -> Image.Image:
    """The application icon: a key on a dark rounded square (for menus and the .desktop)."""
    from PIL import ImageDraw

    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    s = float(big)
    draw.rounded_rectangle((0.04 * s, 0.04 * s, 0.96 * s, 0.96 * s), radius=0.2 * s,
                           fill=(32, 46, 66), outline=(90, 110, 140), width=round(0.02 * s))
    gold = (240, 180, 40, 255)
    draw.ellipse((0.18 * s, 0.3 * s, 0.52 * s, 0.64 * s), fill=gold)
    draw.ellipse((0.27 * s, 0.39 * s, 0.43 * s, 0.55 * s), fill=(32, 46, 66))
    draw.rectangle((0.48 * s, 0.43 * s, 0.84 * s, 0.51 * s), fill=gold)
    draw.rectangle((0.66 * s, 0.51 * s, 0.72 * s, 0.62 * s), fill=gold)
    draw.rectangle((0.76 * s, 0.51 * s, 0.82 * s, 0.66 * s), fill=gold)
    # The fresh badge in a corner: rolebar is about keeping the key valid.
    badge = draw_state("fresh", round(size * 0.34))
    out = image.resize((size, size), Image.Resampling.LANCZOS)
    out.alpha_composite(badge, (size - badge.width - round(size * 0.06),
                                size - badge.height - round(size * 0.06)))
    return out


def file_name(state: str, size: int) -> str:
    return f"state-{state}-{size}.png"


def load(state: str, size: int = 32) -> Image.Image:
    """The shipped icon for `state`; drawn on the spot if the file is missing."""
    try:
        with files("rolebar.assets").joinpath(file_name(state, size)).open("rb") as file:
            image = Image.open(file)
            image.load()
            return image
    except (FileNotFoundError, OSError):
        return draw_state(state, size)


def app_icon_file() -> AbstractContextManager[Path]:
    """A real file of the application icon (notifications take a path)."""
    return as_file(files("rolebar.assets").joinpath("rolebar.png"))


def write_all(folder: Path) -> list[Path]:
    """Draw every icon into `folder`; returns the files written."""
    written = []
    for state in STATES:
        for size in SIZES:
            path = folder / file_name(state, size)
            draw_state(state, size).save(path, optimize=True)
            written.append(path)
    path = folder / "rolebar.png"
    draw_app().save(path, optimize=True)
    written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw rolebar's icons into a folder.")
    parser.add_argument("--write", metavar="FOLDER", type=Path, required=True)
    args = parser.parse_args(argv)
    for path in write_all(args.write):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
