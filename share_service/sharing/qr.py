"""QR codes of article URLs, as PNG or SVG. Domain code, no Flask.

:func:`parse_params` validates the query parameters of ``GET /qr`` (every bad value is an
ApiError, 400); :func:`render` draws the code with the ``qrcode`` package and caches the bytes
(LRU); :func:`etag` is a strong validator computed from everything the image depends on.

Sizes: a PNG is exactly ``size`` x ``size`` pixels. Each module is a whole number of pixels
(``size // modules``, crisp edges); the pixels left over widen the quiet zone. An SVG has
``width``/``height`` = ``size`` and a viewBox in module units, drawn from qrcode's SVG path image.
Colours: ``#rgb`` or ``#rrggbb``; the code must be dark on light, with a contrast ratio of at
least :data:`MIN_CONTRAST` (WCAG formula) — many scanners cannot read pale or inverted codes.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from functools import lru_cache

import png
import qrcode
import qrcode.image.svg
from qrcode.exceptions import DataOverflowError

from ..errors import ApiError
from .colours import contrast, luminance, rgb

RENDER_VERSION = "1"  # bump when the drawing changes: it is part of the ETag
MIN_CONTRAST = 3.0
FORMATS = {"svg": "image/svg+xml", "png": "image/png"}
ECC_LEVELS = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})\Z")
_INT = re.compile(r"^[0-9]{1,6}\Z")
_PATH_D = re.compile(rb'<path d="([^"]*)"')


@dataclass(frozen=True)
class QrParams:
    fmt: str = "svg"
    size: int = 256
    border: int = 4
    ecc: str = "M"
    fg: str = "#000000"
    bg: str = "#ffffff"


def _int_param(args, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None:  # an empty size= is no number: 400 like any other
        return default
    if not _INT.match(raw) or not low <= int(raw) <= high:
        raise ApiError(f"invalid_{name}", f"The '{name}' parameter must be a whole number "
                                          f"from {low} to {high}.")
    return int(raw)


def _colour_param(args, name: str, default: str) -> str:
    raw = args.get(name)
    if raw is None:
        return default
    if not _COLOUR.match(raw):
        raise ApiError("invalid_color", f"The '{name}' parameter must be a colour #rgb or "
                                        "#rrggbb (write '#' as %23 in a URL).")
    hexa = raw[1:].lower()
    if len(hexa) == 3:
        hexa = "".join(c * 2 for c in hexa)
    return "#" + hexa


def parse_params(args, *, default_size: int = 256, min_size: int = 64, max_size: int = 1024,
                 max_border: int = 8) -> QrParams:
    """Validate ``format``, ``size``, ``border``, ``ecc``, ``fg``, ``bg`` (a mapping of strings)."""
    fmt = args.get("format") or "svg"
    if fmt not in FORMATS:
        raise ApiError("invalid_format", "The 'format' parameter must be svg or png.")
    size = _int_param(args, "size", default_size, min_size, max_size)
    border = _int_param(args, "border", 4, 0, max_border)
    ecc = (args.get("ecc") or "M").upper()
    if ecc not in ECC_LEVELS:
        raise ApiError("invalid_ecc", "The 'ecc' parameter must be L, M, Q or H.")
    fg = _colour_param(args, "fg", "#000000")
    bg = _colour_param(args, "bg", "#ffffff")
    if fg == bg:
        raise ApiError("low_contrast", "The 'fg' and 'bg' colours are the same.")
    if luminance(fg) > luminance(bg):
        raise ApiError("low_contrast", "The code must be dark on light: 'fg' must be darker "
                                       "than 'bg' (many scanners cannot read inverted codes).")
    ratio = contrast(fg, bg)
    if ratio < MIN_CONTRAST:
        raise ApiError("low_contrast", f"The contrast between 'fg' and 'bg' is {ratio:.2f}:1; "
                                       f"at least {MIN_CONTRAST:g}:1 is needed to scan it.")
    return QrParams(fmt=fmt, size=size, border=border, ecc=ecc, fg=fg, bg=bg)


def etag(text: str, params: QrParams) -> str:
    """Strong ETag (quoted) of the image for ``text`` drawn with ``params``."""
    key = "|".join((RENDER_VERSION, text, params.fmt, str(params.size), str(params.border),
                    params.ecc, params.fg, params.bg))
    return '"' + hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest() + '"'


def _code(text: str, params: QrParams) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ECC_LEVELS[params.ecc], border=params.border)
    code.add_data(text)
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError) as exc:
        raise ApiError("url_too_long_for_qr", "This URL is too long for a QR code at this error "
                                              "correction level; try ecc=L.") from exc
    return code


def _png(code: qrcode.QRCode, params: QrParams) -> bytes:
    matrix = code.get_matrix()  # includes the border (quiet zone)
    modules = len(matrix)
    box = params.size // modules
    if box < 1:
        raise ApiError("invalid_size", f"A size of {params.size} px is too small for this URL "
                                       f"({modules} modules); ask for at least {modules}.")
    pad = params.size - box * modules
    left, top = pad // 2, pad // 2
    row_bytes = (params.size + 7) // 8
    tail = row_bytes * 8 - params.size  # padding bits of the last byte

    def packed(line) -> bytes:
        # one pixel row, 1 bit per pixel (1 = dark), packed as PNG wants it
        bits = "0" * left + "".join(("1" if dark else "0") * box for dark in line)
        bits = bits.ljust(params.size + tail, "0")
        return int(bits, 2).to_bytes(row_bytes, "big")

    blank = bytes(row_bytes)
    rows = [blank] * top
    for line in matrix:
        rows.extend([packed(line)] * box)  # the same bytes object, box times
    rows.extend([blank] * (params.size - len(rows)))
    writer = png.Writer(params.size, params.size, palette=[rgb(params.bg), rgb(params.fg)],
                        bitdepth=1)
    out = io.BytesIO()
    writer.write_packed(out, rows)
    return out.getvalue()


def _svg(code: qrcode.QRCode, params: QrParams) -> bytes:
    image = code.make_image(image_factory=qrcode.image.svg.SvgPathImage)
    match = _PATH_D.search(image.to_string())
    path = match.group(1).decode("ascii") if match else ""
    modules = code.modules_count + 2 * params.border
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{params.size}" '
        f'height="{params.size}" viewBox="0 0 {modules} {modules}" shape-rendering="crispEdges">'
        f'<rect width="{modules}" height="{modules}" fill="{params.bg}"/>'
        f'<path d="{path}" fill="{params.fg}"/></svg>'
    ).encode("ascii")


@lru_cache(maxsize=256)
def render(text: str, params: QrParams) -> bytes:
    """The image bytes (PNG or SVG) of ``text``; cached (least recently used, 256 images)."""
    code = _code(text, params)
    return _png(code, params) if params.fmt == "png" else _svg(code, params)
