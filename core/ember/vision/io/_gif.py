"""GIF decoding as torchvision's ``decode_gif`` (GIFLIB's DGifSlurp plus torchvision's frame composition).

Pillow composes animated GIF frames with its own disposal rules, so the file is parsed here (blocks,
LZW, interlacing) and the frames are composed the way torchvision does: the canvas is
``max(screen, first image)``; a frame whose Graphic Control Extension says "do not dispose" starts from
the previous frame, any other starts from the global palette's background colour (black without
one); pixels equal to the frame's transparent index are skipped.

Example:
    >>> import io
    >>> import numpy as np
    >>> from PIL import Image
    >>> buf = io.BytesIO()
    >>> Image.fromarray(np.full((2, 3), 7, np.uint8), "L").save(buf, "GIF")
    >>> decode_gif_array(buf.getvalue()).shape
    (1, 2, 3, 3)
"""

from __future__ import annotations

import struct

import numpy as np

__all__ = ["decode_gif_array"]


def _error(code: int) -> RuntimeError:
    return RuntimeError(f"DGifSlurp() failed - {code}")


def _sub_blocks(buf: bytes, pos: int) -> tuple[bytes, int]:
    parts = []
    while True:
        if pos >= len(buf):
            raise _error(102)  # D_GIF_ERR_READ_FAILED
        size = buf[pos]
        pos += 1
        if size == 0:
            return b"".join(parts), pos
        parts.append(buf[pos:pos + size])
        pos += size


def _lzw(data: bytes, min_size: int, count: int) -> np.ndarray:
    """``count`` colour indices from GIF's variable-width LZW stream."""
    clear, end = 1 << min_size, (1 << min_size) + 1
    out = bytearray()
    table: list[bytes] = [bytes([i]) for i in range(clear)] + [b"", b""]
    size, prev = min_size + 1, None
    bits = nbits = 0
    for byte in data:
        bits |= byte << nbits
        nbits += 8
        while nbits >= size:
            code = bits & ((1 << size) - 1)
            bits >>= size
            nbits -= size
            if code == clear:
                table = table[: end + 1]
                size, prev = min_size + 1, None
                continue
            if code == end:
                return _finish(out, count)
            if prev is None:
                entry = table[code] if code < len(table) else b"\x00"
            elif code < len(table):
                entry = table[code]
                table.append(prev + entry[:1])
            else:  # the KwKwK case: the code being defined right now
                entry = prev + prev[:1]
                table.append(entry)
            out += entry
            prev = entry
            if len(table) == (1 << size) and size < 12:
                size += 1
            if len(out) >= count:
                return _finish(out, count)
    return _finish(out, count)


def _finish(out: bytearray, count: int) -> np.ndarray:
    if len(out) < count:
        raise _error(112)  # D_GIF_ERR_DATA_TOO_BIG / short data: GIFLIB fails the slurp
    return np.frombuffer(bytes(out[:count]), dtype=np.uint8)


def _palette(buf: bytes, pos: int, packed: int) -> tuple[np.ndarray, int]:
    n = 2 << (packed & 7)
    pal = np.frombuffer(buf[pos:pos + 3 * n], dtype=np.uint8)
    if len(pal) != 3 * n:
        raise _error(102)
    return pal.reshape(n, 3), pos + 3 * n


def _decode_gif_array(buf: bytes) -> np.ndarray:
    """(N, H, W, 3) uint8 frames of a GIF file."""
    if len(buf) < 13 or buf[:4] != b"GIF8":
        raise RuntimeError("DGifOpenFileName() failed - 103")  # D_GIF_ERR_NOT_GIF_FILE
    sw, sh, packed, bg_index = struct.unpack("<HHBB", buf[6:12])
    pos = 13
    gpal = None
    if packed & 0x80:
        gpal, pos = _palette(buf, pos, packed)
    frames = []  # (left, top, w, h, indices, palette, transparent, disposal)
    gce: tuple[int, int] = (0, -1)
    while pos < len(buf):
        kind = buf[pos]
        pos += 1
        if kind == 0x3B:  # trailer
            break
        if kind == 0x21:  # extension
            label = buf[pos]
            data, pos = _sub_blocks(buf, pos + 1)
            if label == 0xF9 and len(data) >= 4:
                flags = data[0]
                gce = ((flags >> 2) & 7, data[3] if flags & 1 else -1)
            continue
        if kind != 0x2C:
            raise _error(107)  # D_GIF_ERR_WRONG_RECORD
        left, top, w, h, ipacked = struct.unpack("<HHHHB", buf[pos:pos + 9])
        pos += 9
        pal = gpal
        if ipacked & 0x80:
            pal, pos = _palette(buf, pos, ipacked)
        min_size = buf[pos]
        data, pos = _sub_blocks(buf, pos + 1)
        idx = _lzw(data, min_size, w * h).reshape(h, w)
        if ipacked & 0x40:  # interlaced rows come in four passes
            order = [r for start, step in ((0, 8), (4, 8), (2, 4), (1, 2)) for r in range(start, h, step)]
            deint = np.empty_like(idx)
            deint[order] = idx
            idx = deint
        frames.append((left, top, w, h, idx, pal, gce[1], gce[0]))
        gce = (0, -1)  # a Graphic Control Extension applies to the next image only
    if not frames:
        raise RuntimeError("GIF file should contain at least one image!")
    bg = gpal[bg_index] if gpal is not None and bg_index < len(gpal) else np.zeros(3, np.uint8)
    out_h, out_w = max(sh, frames[0][3]), max(sw, frames[0][2])
    out = np.empty((len(frames), out_h, out_w, 3), dtype=np.uint8)
    for i, (left, top, w, h, idx, pal, transparent, disposal) in enumerate(frames):
        if pal is None:
            raise RuntimeError("Global and local color maps are missing. This should never happen!")
        out[i] = out[i - 1] if (i > 0 and disposal == 1) else bg
        pal = np.concatenate([pal, np.zeros((256 - len(pal), 3), np.uint8)])
        region = out[i, top:top + h, left:left + w]
        keep = idx[: region.shape[0], : region.shape[1]]
        mask = keep != transparent
        region[mask] = pal[keep][mask]
    return out


def decode_gif_array(buf: bytes) -> np.ndarray:
    """The frames of a GIF file (see ``_decode_gif_array``); a record cut short is GIFLIB's read error."""
    try:
        return _decode_gif_array(buf)
    except (struct.error, IndexError) as e:  # a header or descriptor past the end of the data
        raise _error(102) from e  # D_GIF_ERR_READ_FAILED
