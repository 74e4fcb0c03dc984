"""Whether a cell's text can be seen against its fill: the colour Excel paints it in (its
font's, or its number format's section's: "[White]", "[Color2]") against the fill's.

Hidden: text of the fill's colour; text all of whose channels are 0xF0 or more on the
white sheet or a white fill; text of a contrast below MIN_CONTRAST with its fill (WCAG's
ratio); a font under MIN_FONT_POINTS. A theme's colour is compared as written (its
index and tint), but for Background 1 and Text 1, white and black as Excel has them,
tinted. A patterned fill, mixing two colours, and a gradient are taken to show any text.
"""

from __future__ import annotations

import colorsys

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


def colour(color: Color | None, automatic: str) -> str | None:
    """A colour as "RRGGBB", or a theme's as written (its index and tint); None when it
    cannot be told."""
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


def background(fill: object) -> str | None:
    """The colour text is read against: the white sheet for no fill, a solid fill's own;
    None for a patterned or gradient fill (taken to show any text)."""
    if isinstance(fill, GradientFill):
        return None
    if not isinstance(fill, PatternFill) or fill.patternType in (None, "none"):
        return _WHITE
    if fill.patternType == "solid":
        return colour(fill.fgColor, _WHITE)
    return None


def font_colour(font: object) -> str | None:
    """The colour of a font's text (automatic: black)."""
    return colour(getattr(font, "color", None), "000000")


def tiny(font: object) -> float | None:
    """The font's size when it is under MIN_FONT_POINTS, text too small to be read."""
    size = getattr(font, "sz", None)
    return float(size) if isinstance(size, int | float) and 0 <= size < MIN_FONT_POINTS \
        else None
