"""Whether a cell's text can be seen against its fill: the colour Excel paints it in (its
font's, or its number format's section's: "[White]", "[Color2]") against the fill's.

Hidden: text of the fill's colour; text all of whose channels are 0xF0 or more on the
white sheet or a white fill; text of a contrast below MIN_CONTRAST with its fill (WCAG's
ratio); a font under MIN_FONT_POINTS. A theme's colour is the workbook's theme's
(theme_colours: its colour scheme, read from the first MAX_THEME_BYTES of the part),
tinted; one the theme does not give is compared as written (its index and tint), but
for Background 1 and Text 1, white and black as Excel has them. A patterned fill,
mixing two colours, and a gradient are taken to show any text.
"""

from __future__ import annotations

import colorsys
import contextlib
import pyexpat

from openpyxl.styles.colors import COLOR_INDEX, Color
from openpyxl.styles.fills import GradientFill, PatternFill

MIN_CONTRAST = 1.2  # Excel's white on its lightest grey (F2F2F2) is 1.1
MIN_FONT_POINTS = 4.0
_NEAR_WHITE = 0xF0
_WHITE = "FFFFFF"
# a number format's colours by name, and [Color1] to [Color56]: the palette from index 8
NAMED = {"black": "000000", "white": _WHITE, "red": "FF0000", "green": "00FF00",
         "blue": "0000FF", "yellow": "FFFF00", "magenta": "FF00FF", "cyan": "00FFFF"}
PALETTE_COLOURS = 56
# Excel's themes are some 8 KB, their colour scheme first: read no further than this
MAX_THEME_BYTES = 256 * 1024
_DRAWING = "http://schemas.openxmlformats.org/drawingml/2006/main}"
# a theme index's colour in the scheme: Excel swaps the first two pairs (0 is lt1)
_SCHEME = ("lt1", "dk1", "lt2", "dk2", "accent1", "accent2", "accent3", "accent4",
           "accent5", "accent6", "hlink", "folHlink")
Theme = dict[int, str]  # a theme index -> its colour, "RRGGBB"


class _SchemeDone(Exception):
    """The colour scheme is read: the rest of the theme is not."""


def theme_colours(theme: bytes | None) -> Theme:
    """The colours of a theme part's colour scheme by Excel's theme index (those it
    gives as sRGB or a system colour's last value); none for no theme, or a damaged one
    read as far as it is sound."""
    found: Theme = {}
    at: list[int] = []  # the scheme entry being read

    def start(name: str, attributes: dict[str, str]) -> None:
        local = name.removeprefix(_DRAWING)
        if local in _SCHEME and name.startswith(_DRAWING):
            at[:] = [_SCHEME.index(local)]
        elif at and local in ("srgbClr", "sysClr"):
            value = attributes.get("val" if local == "srgbClr" else "lastClr", "").upper()
            if _rgb(value):
                found.setdefault(at[0], value)

    def end(name: str) -> None:
        if name == _DRAWING + "clrScheme":
            raise _SchemeDone
        if name.removeprefix(_DRAWING) in _SCHEME:
            at.clear()

    if not theme:
        return found
    parser = pyexpat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler, parser.EndElementHandler = start, end
    with contextlib.suppress(_SchemeDone, pyexpat.ExpatError):
        parser.Parse(theme[:MAX_THEME_BYTES], True)
    return found


def format_colour(name: str) -> str | None:
    """The colour a number format's bracket ("White", "color2") names, as "RRGGBB"."""
    lower = name.lower()
    if lower.startswith("color") and lower[5:].isascii() and lower[5:].isdigit():
        index = int(lower[5:]) if len(lower) < 9 else 0
        return str(COLOR_INDEX[index + 7])[-6:].upper() if 1 <= index <= PALETTE_COLOURS \
            else None
    return NAMED.get(lower)


def _tinted(rgb: str, tint: float) -> str:
    """`rgb` lightened (a tint above 0) or darkened, as Excel tints a theme's colour."""
    red, green, blue = (int(rgb[i:i + 2], 16) / 255 for i in (0, 2, 4))
    hue, light, saturation = colorsys.rgb_to_hls(red, green, blue)
    light = light * (1 + tint) if tint < 0 else light * (1 - tint) + tint
    return "".join(f"{round(c * 255):02X}" for c in colorsys.hls_to_rgb(
        hue, min(max(light, 0.0), 1.0), saturation))


def colour(color: Color | None, automatic: str, theme: Theme | None = None) -> str | None:
    """A colour as "RRGGBB", or a theme's the theme does not give as written (its index
    and tint); None when it cannot be told."""
    if color is None or color.type == "auto":
        return automatic
    if color.type == "rgb" and isinstance(color.rgb, str):
        return color.rgb[-6:].upper()
    if color.type == "indexed" and isinstance(color.indexed, int):
        if 0 <= color.indexed < len(COLOR_INDEX):
            return str(COLOR_INDEX[color.indexed])[-6:].upper()
        system: dict[int, str] = {64: "000000", 65: _WHITE}  # system text, background
        return system.get(color.indexed)
    if color.type == "theme" and isinstance(color.theme, int):
        tint = min(max(float(color.tint or 0), -1.0), 1.0)
        if theme and color.theme in theme:
            return _tinted(theme[color.theme], tint)
        if color.theme in (0, 1):  # Background 1 and Text 1, as Excel has them
            return _tinted((_WHITE, "000000")[color.theme], tint)
        return f"theme {color.theme}, tint {tint}"
    return None


def _luminance(rgb: str) -> float:
    channels = [int(rgb[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    red, green, blue = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
                        for c in channels)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _rgb(text: str) -> bool:
    return len(text) == 6 and all(c in "0123456789ABCDEF" for c in text)


def unseen_on(text: str | None, background: str | None) -> bool:
    """Whether text of colour `text` is lost on a fill of colour `background` (None: a
    fill that shows any text, or a colour not told)."""
    if text is None or background is None:
        return False
    if text == background:
        return True
    if not (_rgb(text) and _rgb(background)):
        return False
    if background == _WHITE and all(int(text[i:i + 2], 16) >= _NEAR_WHITE for i in (0, 2, 4)):
        return True
    lighter, darker = sorted((_luminance(text), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05) < MIN_CONTRAST


def background(fill: object, theme: Theme | None = None) -> str | None:
    """The colour text is read against: the white sheet for no fill, a solid fill's own;
    None for a patterned or gradient fill (taken to show any text)."""
    if isinstance(fill, GradientFill):
        return None
    if not isinstance(fill, PatternFill) or fill.patternType in (None, "none"):
        return _WHITE
    if fill.patternType == "solid":
        return colour(fill.fgColor, _WHITE, theme)
    return None


def font_colour(font: object, theme: Theme | None = None) -> str | None:
    """The colour of a font's text (automatic: black)."""
    return colour(getattr(font, "color", None), "000000", theme)


def tiny(font: object) -> float | None:
    """The font's size when it is under MIN_FONT_POINTS, text too small to be read."""
    size = getattr(font, "sz", None)
    return float(size) if isinstance(size, int | float) and 0 <= size < MIN_FONT_POINTS \
        else None
