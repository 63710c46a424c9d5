"""PNG decoding with libpng's results, as torchvision's ``decode_png`` gives them.

Pillow decodes the 8-bit-or-less files (it unpacks 1/2/4-bit samples and palettes). It cannot keep
16-bit colour samples (it narrows them to 8 bits), so 16-bit files are inflated and unfiltered here
with zlib and NumPy. The mode conversions (``ImageReadMode``) then follow the libpng transformations
torchvision asks for: palette expansion, ``png_set_rgb_to_gray(0.2989, 0.587)`` in libpng's fixed
point, ``png_set_add_alpha`` with the filler ``(1 << bit_depth) - 1``, gray-to-RGB replication.

Example:
    >>> import io
    >>> import numpy as np
    >>> from PIL import Image
    >>> buf = io.BytesIO()
    >>> Image.fromarray(np.array([[[10, 20, 30]]], dtype=np.uint8)).save(buf, "PNG")
    >>> decode_png_array(buf.getvalue(), 1)[0].tolist()   # GRAY
    [[[18]]]
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

__all__ = ["decode_png_array"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# libpng's fixed-point coefficients for png_set_rgb_to_gray(png, 1, 0.2989, 0.587): the doubles
# become 29890 and 58700 (1e-5 units), then (v * 32768) / 100000 truncated; blue takes the rest.
_RC, _GC = 29890 * 32768 // 100000, 58700 * 32768 // 100000
_BC = 32768 - _RC - _GC
# Adam7 passes: (x0, y0, dx, dy)
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _chunks(buf: bytes):
    pos = 8
    while pos + 8 <= len(buf):
        length, kind = struct.unpack(">I4s", buf[pos:pos + 8])
        yield kind, buf[pos + 8:pos + 8 + length]
        pos += 12 + length


def _unfilter(data: np.ndarray, height: int, stride: int, bpp: int) -> np.ndarray:
    """Undo the per-row PNG filters (None, Sub, Up, Average, Paeth) of ``height`` rows of ``stride`` bytes."""
    rows = data[: height * (stride + 1)].reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(height):
        kind, line = int(rows[y, 0]), rows[y, 1:].astype(np.int64)
        if kind == 0:
            cur = line
        elif kind == 1:  # Sub: a running sum along each byte lane of a pixel
            cur = line.reshape(-1, bpp).cumsum(axis=0).reshape(-1) % 256
        elif kind == 2:
            cur = (line + prev) % 256
        elif kind in (3, 4):  # Average and Paeth depend on the pixel just decoded: sequential
            cur_l, up, filt = [0] * stride, prev.tolist(), line.tolist()
            for i in range(stride):
                a = cur_l[i - bpp] if i >= bpp else 0
                b = up[i]
                if kind == 3:
                    pred = (a + b) >> 1
                else:
                    c = up[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)
                cur_l[i] = (filt[i] + pred) & 0xFF
            cur = np.asarray(cur_l, dtype=np.int64)
        else:
            raise RuntimeError("Internal error.")
        out[y] = cur
        prev = cur
    return out


def _decode_16bit(buf: bytes, width: int, height: int, color_type: int, interlace: int) -> np.ndarray:
    """(H, W, C) uint16 samples of a 16-bit PNG."""
    channels = _CHANNELS[color_type]
    data = np.frombuffer(zlib.decompress(b"".join(d for k, d in _chunks(buf) if k == b"IDAT")), dtype=np.uint8)
    bpp = 2 * channels
    if not interlace:
        raw = _unfilter(data, height, width * bpp, bpp)
        return raw.view(">u2").reshape(height, width, channels).astype(np.uint16)
    out = np.zeros((height, width, channels), dtype=np.uint16)
    pos = 0
    for x0, y0, dx, dy in _ADAM7:
        pw, ph = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if pw <= 0 or ph <= 0:
            continue
        raw = _unfilter(data[pos:], ph, pw * bpp, bpp)
        out[y0::dy, x0::dx] = raw.view(">u2").reshape(ph, pw, channels)
        pos += ph * (pw * bpp + 1)
    return out


def _exif_orientation_of(buf: bytes) -> int:
    for kind, data in _chunks(buf):
        if kind == b"eXIf":
            exif = Image.Exif()
            exif.load(data)
            return int(exif.get(0x0112, -1))
    return -1


def _rgb_to_gray(rgb: np.ndarray, sixteen: bool) -> np.ndarray:
    """libpng's png_do_rgb_to_gray without gamma: truncating for 8 bits, rounding for 16."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    if sixteen:
        return ((_RC * r + _GC * g + _BC * b + 16384) >> 15)[..., None]
    gray = (_RC * r + _GC * g + _BC * b) >> 15
    return np.where((r == g) & (r == b), r, gray)[..., None]


def _palette_rgba(im: Image.Image) -> tuple[np.ndarray, np.ndarray, bool]:
    """The palette's RGB rows, the alpha per index from tRNS, and whether there was a tRNS chunk."""
    pal = np.asarray(im.getpalette("RGB") or [], dtype=np.uint8).reshape(-1, 3)
    pal = np.concatenate([pal, np.zeros((max(256 - len(pal), 0), 3), np.uint8)])
    alpha = np.full(256, 255, dtype=np.uint8)
    trns = im.info.get("transparency")
    if isinstance(trns, (bytes, bytearray)):
        alpha[: len(trns)] = np.frombuffer(bytes(trns), dtype=np.uint8)
    elif isinstance(trns, int):
        alpha[trns] = 0
    return pal, alpha, trns is not None


def decode_png_array(buf: bytes, mode: int) -> tuple[np.ndarray, int]:
    """(H, W, C) samples (uint8, or uint16 for 16-bit files) in ``mode`` and the EXIF orientation (-1 if none)."""
    if len(buf) < 8:
        raise RuntimeError("Content is too small for png!")
    if buf[:8] != _SIGNATURE:
        raise RuntimeError("Content is not png!")
    try:
        width, height, bit_depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", buf[16:29])
    except struct.error:
        raise RuntimeError("Internal error.") from None
    if bit_depth > 8 and bit_depth != 16:
        raise RuntimeError(f"bit depth of png image is {bit_depth}. Only <=8 and 16 are supported.")
    sixteen = bit_depth == 16
    pal = alpha = None
    has_trns = False
    try:
        if sixteen:
            raw = _decode_16bit(buf, width, height, color_type, interlace)
            orientation = _exif_orientation_of(buf)
        else:
            im = Image.open(io.BytesIO(buf))
            im.load()
            orientation = int(im.getexif().get(0x0112, -1))
            if color_type == 3:
                pal, alpha, has_trns = _palette_rgba(im)
            raw = np.asarray(im.convert("L") if im.mode == "1" else im)
            raw = raw.reshape(height, width, -1).astype(np.uint8)
    except (OSError, ValueError, zlib.error, SyntaxError) as err:
        raise RuntimeError(f"Internal error. ({err})") from None

    if mode == 0:  # UNCHANGED: a palette image keeps its indices, as png_get_channels says 1
        return raw, orientation
    filler = np.full(raw.shape[:2] + (1,), (1 << bit_depth) - 1, dtype=raw.dtype)
    if color_type == 3:  # palette -> RGB(A); libpng expands tRNS into alpha
        idx = raw[..., 0]
        rgb = pal[idx]
        a = alpha[idx][..., None]
        if mode == 1:
            return _rgb_to_gray(rgb, False).astype(np.uint8), orientation
        if mode == 2:
            # Without tRNS torchvision's buffer gets no alpha (a libpng quirk); opaque alpha is what's meant.
            gray = _rgb_to_gray(rgb, False).astype(np.uint8)
            return np.concatenate([gray, a if has_trns else np.full_like(a, 255)], -1), orientation
        if mode == 3:
            return rgb, orientation
        if mode == 4:
            return np.concatenate([rgb, a if has_trns else np.full_like(a, 255)], -1), orientation
    has_color = color_type in (2, 6)
    has_alpha = color_type in (4, 6)
    color = raw[..., :3] if has_color else raw[..., :1]
    a = raw[..., -1:] if has_alpha else filler
    dtype = raw.dtype
    if mode == 1:
        return (_rgb_to_gray(color, sixteen).astype(dtype) if has_color else color), orientation
    if mode == 2:
        gray = _rgb_to_gray(color, sixteen).astype(dtype) if has_color else color
        return np.concatenate([gray, a], -1), orientation
    rgb = color if has_color else np.repeat(color, 3, axis=-1)
    if mode == 3:
        return rgb, orientation
    if mode == 4:
        return np.concatenate([rgb, a], -1), orientation
    raise RuntimeError("The provided mode is not supported for PNG files")
