"""One colour per use (and per land type), shared by the QGIS styles and every figure, so map and report agree.

The use colours differ in hue for colour vision and, as important, in
lightness: every two of them, and each against a white page, have a WCAG
contrast ratio of at least :data:`MIN_GREY_CONTRAST` (:func:`contrast_ratio`),
so they stay apart printed in grey-scale and for every kind of colour-vision
deficiency (which keeps lightness).
"""

from __future__ import annotations

from dualuse.vocabulary import LAND_TYPES, USES

#: Hex colours per use, in five lightness steps (relative luminance 0.63, 0.38, 0.22, 0.12, 0.06).
USE_COLOURS: dict[str, str] = {
    "current": "#d0d0d0",      # light grey: unchanged land
    "solar": "#d55e00",        # vermillion (Okabe–Ito): utility PV
    "agrivoltaic": "#1d3f8f",  # dark blue: PV over crops or pasture
    "grazing": "#c9a227",      # ochre: managed rangeland
    "restoration": "#14702f",  # dark green: restored land
}
USE_LABELS: dict[str, str] = {
    "current": "Current use",
    "solar": "Utility solar PV",
    "agrivoltaic": "Agrivoltaics",
    "grazing": "Sustainable grazing",
    "restoration": "Ecological restoration",
}

assert tuple(USE_COLOURS) == USES

#: Uses that carry PV panels.
PV_USES: tuple[str, ...] = ("solar", "agrivoltaic")
#: A parcel shows PV (hatched in QGIS, marked on the report's map) when at least this share of it is under PV.
PV_SHARE_SHOWN = 0.005
#: The smallest WCAG contrast ratio between any two use colours, and between each and white: 1.5 keeps them
#: apart in grey-scale (the grazing yellow and the grey of an earlier palette were 1.07).
MIN_GREY_CONTRAST = 1.5
#: The page (and QGIS canvas) background the use colours are drawn on.
BACKGROUND = "#ffffff"

#: Hex colours per LDN land type: the land-cover colours of Trends.Earth's legend (shrubland, which its
#: 7-class legend folds into grassland, in ESA CCI's shrubland brown).
LAND_TYPE_COLOURS: dict[str, str] = {
    "cropland": "#fffb6e",
    "grassland": "#ffac42",
    "shrubland": "#a86019",
    "forest": "#787f1b",
    "wetland": "#00db84",
    "bare": "#fff3d7",
    "artificial": "#e60017",
    "water": "#0053c4",
}
LAND_TYPE_LABELS: dict[str, str] = {t: t.capitalize() for t in LAND_TYPES}

assert tuple(LAND_TYPE_COLOURS) == LAND_TYPES


def rgb(hex_colour: str) -> tuple[int, int, int]:
    """'#rrggbb' as an (r, g, b) tuple of 0–255 integers."""
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def relative_luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour: 0 for black, 1 for white (its grey-scale lightness)."""

    def linear(channel: int) -> float:
        c = channel / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb(hex_colour)
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two colours, (L1 + 0.05) / (L2 + 0.05) with L1 the lighter: 1 to 21."""
    a, b = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)
