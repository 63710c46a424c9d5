"""ember.vision.io (images) and ember.vision.utils' drawing helpers against torchvision 0.28.

torchvision's compiled image codecs (libjpeg/libpng/giflib in C++) do not load next to the CPU
PyTorch here, so ``ember.vision.io`` is compared with Pillow and NumPy directly and with
torchvision's documented rules written out in NumPy in this file: PNG must round-trip exactly, each
``ImageReadMode`` conversion is checked against libpng's formula, JPEG against Pillow's own libjpeg-turbo
decode, CMYK against Pillow's CMYK->RGB->L, EXIF against ``ImageOps.exif_transpose``, GIF frames
against the frames that were encoded. torchvision.utils' drawing functions are pure Python over
PIL/torch, so they are the reference and the uint8 outputs must be equal pixel for pixel.
"""

from __future__ import annotations

import io as pyio
import struct
import warnings
import zlib

import ember
import numpy as np
import pytest
from ember.vision import io as eio
from ember.vision import utils as eutils
from PIL import Image, ImageOps, features
from reference_torchvision import import_torchvision

torch = pytest.importorskip("torch")
tv = import_torchvision()


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _bytes_tensor(buf: bytes) -> ember.Tensor:
    return ember.from_numpy(np.frombuffer(buf, dtype=np.uint8).copy())


def _pil_bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    out = pyio.BytesIO()
    img.save(out, format=fmt, **kw)
    return out.getvalue()


def _hwc(t: ember.Tensor) -> np.ndarray:
    return _np(t).transpose(1, 2, 0)


RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, size=(7, 9, 3), dtype=np.uint8)
RGBA = RNG.integers(0, 256, size=(7, 9, 4), dtype=np.uint8)


# ---- ImageReadMode / files / input validation -----------------------------------------------------

def test_image_read_mode_matches_torchvision():
    ref = tv.io.ImageReadMode
    assert [(m.name, m.value) for m in eio.ImageReadMode] == [(m.name, m.value) for m in ref]
    assert eio.ImageReadMode.RGBA is eio.ImageReadMode.RGB_ALPHA
    assert sorted(eio.__all__[:15]) == sorted(tv.io.__all__)


def test_read_write_file_roundtrip_and_errors(tmp_path):
    p = tmp_path / "x.bin"
    data = ember.tensor([0, 1, 254, 255, 7], dtype=ember.uint8)
    eio.write_file(p, data)
    assert p.read_bytes() == bytes([0, 1, 254, 255, 7])
    back = eio.read_file(p)
    assert back.dtype == ember.uint8 and back.tolist() == [0, 1, 254, 255, 7]
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(RuntimeError, match="Expected a non empty file"):
        eio.read_file(tmp_path / "empty")
    with pytest.raises(RuntimeError, match=r"\[Errno 2\] No such file or directory"):
        eio.read_file(tmp_path / "missing.png")
    with pytest.raises(RuntimeError, match="Input tensor dtype should be uint8"):
        eio.write_file(p, ember.tensor([1.0]))
    with pytest.raises(RuntimeError, match="Input data should be a 1-dimensional tensor"):
        eio.write_file(p, ember.zeros(2, 2, dtype=ember.uint8))


def test_encoded_input_validation_messages():
    png = _bytes_tensor(_pil_bytes(Image.fromarray(RGB), "PNG"))
    with pytest.raises(RuntimeError, match="Input tensor must have uint8 data type, got float"):
        eio.decode_png(png.float())
    with pytest.raises(RuntimeError, match="Input tensor must have uint8 data type, got long int"):
        eio.decode_image(png.long())
    with pytest.raises(RuntimeError, match=r"must be 1-dimensional and non-empty, got 2 dims  and 4 numels\."):
        eio.decode_image(ember.zeros(2, 2, dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="got 1 dims  and 0 numels"):
        eio.decode_jpeg(ember.zeros(0, dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="Input tensor must be contiguous."):
        eio.decode_png(ember.cat([png, png]).reshape(2, -1).t().reshape(-1)[::2])
    with pytest.raises(RuntimeError, match="Content is not png!"):
        eio.decode_png(_bytes_tensor(b"\xff\xd8\xff\xe0" + b"\0" * 20))
    with pytest.raises(RuntimeError, match="Content is too small for png!"):
        eio.decode_png(_bytes_tensor(b"\x89PNG"))
    with pytest.raises(RuntimeError, match="Unsupported image file. Only jpeg, png, webp and gif"):
        eio.decode_image(_bytes_tensor(b"BM" + b"\0" * 40))
    with pytest.raises(KeyError):
        eio.decode_png(png, mode="CMYK")


# ---- PNG ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("level", [0, 6, 9])
def test_png_encode_decode_roundtrip_exact(channels, level):
    img = ember.from_numpy(np.ascontiguousarray(RGB[..., :channels].transpose(2, 0, 1)))
    enc = eio.encode_png(img, compression_level=level)
    assert enc.dtype == ember.uint8 and enc.dim() == 1
    out = eio.decode_png(enc)
    assert out.dtype == ember.uint8 and tuple(out.shape) == (channels, 7, 9)
    np.testing.assert_array_equal(_np(out), _np(img))
    # Pillow reads ember's bytes back to the same pixels
    pil = np.asarray(Image.open(pyio.BytesIO(_np(enc).tobytes())))
    np.testing.assert_array_equal(pil.reshape(7, 9, channels), RGB[..., :channels])


def test_png_write_and_read_image(tmp_path):
    img = ember.from_numpy(np.ascontiguousarray(RGB.transpose(2, 0, 1)))
    eio.write_png(img, tmp_path / "a.png")
    np.testing.assert_array_equal(_np(eio.read_image(tmp_path / "a.png")), _np(img))
    np.testing.assert_array_equal(_np(eio.decode_image(str(tmp_path / "a.png"))), _np(img))


def test_encode_png_errors():
    with pytest.raises(RuntimeError, match="Input tensor dtype should be uint8"):
        eio.encode_png(ember.zeros(3, 2, 2))
    with pytest.raises(RuntimeError, match="Compression level should be between 0 and 9"):
        eio.encode_png(ember.zeros(3, 2, 2, dtype=ember.uint8), compression_level=10)
    with pytest.raises(RuntimeError, match="Input data should be a 3-dimensional tensor"):
        eio.encode_png(ember.zeros(2, 2, dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="The number of channels should be 1 or 3, got: 4"):
        eio.encode_png(ember.zeros(4, 2, 2, dtype=ember.uint8))


# libpng's png_set_rgb_to_gray(png, 1, 0.2989, 0.587) as documented in libpng's manual: coefficients in
# 1e-5 fixed point scaled to 15 bits (truncated), blue = 32768 - red - green; 8-bit samples truncate,
# grey pixels (r == g == b) pass unchanged; 16-bit samples round.
def _libpng_gray(rgb: np.ndarray, sixteen: bool = False) -> np.ndarray:
    rc = int(round(0.2989 * 100000)) * 32768 // 100000
    gc = int(round(0.587 * 100000)) * 32768 // 100000
    bc = 32768 - rc - gc
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    if sixteen:
        return (rc * r + gc * g + bc * b + 16384) >> 15
    return np.where((r == g) & (g == b), r, (rc * r + gc * g + bc * b) >> 15)


def test_png_gray_coefficients_by_hand():
    # (9794 * 10 + 19234 * 20 + 3740 * 30) >> 15 = 18
    buf = _bytes_tensor(_pil_bytes(Image.fromarray(np.array([[[10, 20, 30]]], np.uint8)), "PNG"))
    assert eio.decode_png(buf, mode="GRAY").tolist() == [[[18]]]


def _png_cases():
    gray = RGB[..., 0]
    pal_img = Image.fromarray(RGB).quantize(colors=16)
    return {
        "L": (Image.fromarray(gray), gray[..., None].copy(), 8),
        "LA": (Image.fromarray(RGBA[..., :2].copy(), "LA"), RGBA[..., :2].copy(), 8),
        "RGB": (Image.fromarray(RGB), RGB.copy(), 8),
        "RGBA": (Image.fromarray(RGBA), RGBA.copy(), 8),
        "P": (pal_img, None, 8),
        "1": (Image.fromarray(gray > 127).convert("1"), ((gray > 127) * 255).astype(np.uint8)[..., None], 1),
    }


@pytest.mark.parametrize("kind", ["L", "LA", "RGB", "RGBA", "P", "1"])
@pytest.mark.parametrize("mode", ["UNCHANGED", "GRAY", "GRAY_ALPHA", "RGB", "RGB_ALPHA"])
def test_png_modes_follow_libpng(kind, mode):
    pil, raw, bit_depth = _png_cases()[kind]
    buf = _pil_bytes(pil, "PNG")
    out = eio.decode_png(_bytes_tensor(buf), mode=mode)
    got = _hwc(out)
    assert out.dtype == ember.uint8
    if kind == "P":
        idx = np.asarray(pil)
        pal = np.asarray(pil.getpalette("RGB"), np.uint8).reshape(-1, 3)
        raw = idx[..., None]
        rgb = pal[idx]
        alpha = np.full(idx.shape + (1,), 255, np.uint8)
    else:
        rgb = raw[..., :3] if raw.shape[-1] >= 3 else np.repeat(raw[..., :1], 3, -1)
        # png_set_add_alpha's filler is (1 << bit_depth) - 1
        alpha = raw[..., -1:] if raw.shape[-1] in (2, 4) else np.full(raw.shape[:2] + (1,), (1 << bit_depth) - 1,
                                                                        np.uint8)
    gray = raw[..., :1] if (kind in ("L", "LA", "1")) else _libpng_gray(rgb)[..., None]
    expected = {"UNCHANGED": raw, "GRAY": gray, "GRAY_ALPHA": np.concatenate([gray, alpha], -1),
                "RGB": rgb, "RGB_ALPHA": np.concatenate([rgb, alpha], -1)}[mode]
    np.testing.assert_array_equal(got, expected)


def test_png_palette_transparency_expands_alpha():
    pal_img = Image.fromarray(RGB).quantize(colors=8)
    trns = bytes([0, 50, 100, 255, 7])  # alpha for the first five indices; the rest are opaque
    buf = _pil_bytes(pal_img, "PNG", transparency=trns)
    out = _hwc(eio.decode_png(_bytes_tensor(buf), mode=eio.ImageReadMode.RGB_ALPHA))
    ref = np.asarray(Image.open(pyio.BytesIO(buf)).convert("RGBA"))  # Pillow applies tRNS the same way
    np.testing.assert_array_equal(out, ref)
    ga = _hwc(eio.decode_png(_bytes_tensor(buf), mode="GRAY_ALPHA"))
    np.testing.assert_array_equal(ga[..., 1], ref[..., 3])
    np.testing.assert_array_equal(ga[..., 0], _libpng_gray(ref[..., :3]))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _filter_rows(raw: np.ndarray, bpp: int, kinds: list[int]) -> bytes:
    """PNG's forward filters (spec section 9.2), one filter type per row."""
    out = []
    prev = np.zeros(raw.shape[1], np.int64)
    for y, row in enumerate(raw.astype(np.int64)):
        k = kinds[y % len(kinds)]
        a = np.concatenate([np.zeros(bpp, np.int64), row[:-bpp]])
        c = np.concatenate([np.zeros(bpp, np.int64), prev[:-bpp]])
        b = prev
        if k == 0:
            f = row
        elif k == 1:
            f = row - a
        elif k == 2:
            f = row - b
        elif k == 3:
            f = row - (a + b) // 2
        else:
            p = a + b - c
            pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
            f = row - np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
        out.append(bytes([k]) + (f % 256).astype(np.uint8).tobytes())
        prev = row
    return b"".join(out)


def _png16(samples: np.ndarray, color_type: int, exif: bytes | None = None) -> bytes:
    h, w, c = samples.shape
    raw = samples.astype(">u2").view(np.uint8).reshape(h, w * c * 2)
    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    extra = _png_chunk(b"eXIf", exif) if exif else b""
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + extra
            + _png_chunk(b"IDAT", zlib.compress(_filter_rows(raw, 2 * c, [0, 1, 2, 3, 4]))) + _png_chunk(b"IEND", b""))


@pytest.mark.parametrize("color_type,channels", [(0, 1), (2, 3), (4, 2), (6, 4)])
def test_png_16bit_samples_and_modes(color_type, channels):
    samples = RNG.integers(0, 65536, size=(6, 5, channels)).astype(np.uint16)
    buf = _bytes_tensor(_png16(samples, color_type))
    out = eio.decode_png(buf)
    # torchvision gives uint16; ember has no uint16, the same values come as int32
    assert out.dtype == ember.int32
    np.testing.assert_array_equal(_hwc(out), samples.astype(np.int32))
    has_color, has_alpha = channels >= 3, channels in (2, 4)
    color = samples[..., :3] if has_color else samples[..., :1]
    gray = _libpng_gray(color, sixteen=True)[..., None] if has_color else color
    alpha = samples[..., -1:] if has_alpha else np.full(samples.shape[:2] + (1,), 65535)
    rgb = color if has_color else np.repeat(color, 3, -1)
    for mode, expected in [("GRAY", gray), ("GRAY_ALPHA", np.concatenate([gray, alpha], -1)), ("RGB", rgb),
                           ("RGB_ALPHA", np.concatenate([rgb, alpha], -1))]:
        np.testing.assert_array_equal(_hwc(eio.decode_png(buf, mode=mode)), expected, err_msg=mode)


def _adam7_png16(samples: np.ndarray, color_type: int) -> bytes:
    """An interlaced 16-bit PNG: the seven Adam7 sub-images, each filtered on its own (spec section 8.2)."""
    h, w, c = samples.shape
    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
    data = b""
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.size:
            raw = sub.astype(">u2").view(np.uint8).reshape(sub.shape[0], -1)
            data += _filter_rows(raw, 2 * c, [4, 3, 1])
    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 1)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(data))
            + _png_chunk(b"IEND", b""))


def test_png_16bit_interlaced():
    samples = RNG.integers(0, 65536, size=(11, 13, 4)).astype(np.uint16)
    out = eio.decode_png(_bytes_tensor(_adam7_png16(samples, 6)))
    np.testing.assert_array_equal(_hwc(out), samples.astype(np.int32))


@pytest.mark.parametrize("bit_depth", [1, 2, 4])
def test_png_low_bit_gray_expands_like_libpng(bit_depth):
    h, w = 5, 11
    values = RNG.integers(0, 1 << bit_depth, size=(h, w))
    per_byte = 8 // bit_depth
    rows = []
    for row in values:
        padded = np.concatenate([row, np.zeros(-w % per_byte, np.int64)]).reshape(-1, per_byte)
        shifts = bit_depth * np.arange(per_byte - 1, -1, -1)
        rows.append(b"\0" + (padded << shifts).sum(1).astype(np.uint8).tobytes())
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, 0, 0, 0, 0)
    buf = _bytes_tensor(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
                        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows))) + _png_chunk(b"IEND", b""))
    # png_set_expand_gray_1_2_4_to_8 scales to 0..255; GRAY_ALPHA's filler stays (1 << bit_depth) - 1
    scaled = (values * (255 // ((1 << bit_depth) - 1))).astype(np.uint8)
    np.testing.assert_array_equal(_np(eio.decode_png(buf))[0], scaled)
    ga = _np(eio.decode_png(buf, mode="GRAY_ALPHA"))
    np.testing.assert_array_equal(ga[0], scaled)
    assert (ga[1] == (1 << bit_depth) - 1).all()


def test_png_16bit_gray_matches_pillow():
    arr = RNG.integers(0, 65536, size=(5, 8)).astype(np.uint16)
    buf = _pil_bytes(Image.fromarray(arr), "PNG")
    np.testing.assert_array_equal(_np(eio.decode_image(_bytes_tensor(buf)))[0],
                                  np.asarray(Image.open(pyio.BytesIO(buf))).astype(np.int32))


# ---- EXIF orientation -----------------------------------------------------------------------------

def _exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_jpeg_and_png(orientation):
    base = Image.fromarray(RGB[:5])  # non-square so transposes show
    for fmt in ("JPEG", "PNG"):
        buf = _pil_bytes(base, fmt, exif=_exif_bytes(orientation))
        ref = np.asarray(ImageOps.exif_transpose(Image.open(pyio.BytesIO(buf))))
        out = eio.decode_image(_bytes_tensor(buf), apply_exif_orientation=True)
        np.testing.assert_array_equal(_hwc(out), ref, err_msg=fmt)
        plain = eio.decode_image(_bytes_tensor(buf))
        np.testing.assert_array_equal(_hwc(plain), np.asarray(Image.open(pyio.BytesIO(buf))))
    buf16 = _png16(RNG.integers(0, 65536, size=(3, 4, 3)).astype(np.uint16), 2, exif=_exif_bytes(6))
    out16 = eio.decode_png(_bytes_tensor(buf16), apply_exif_orientation=True)
    plain16 = eio.decode_png(_bytes_tensor(buf16))
    np.testing.assert_array_equal(_hwc(out16), np.rot90(_hwc(plain16), -1))


# ---- JPEG -----------------------------------------------------------------------------------------

def _jpeg(arr: np.ndarray, **kw) -> bytes:
    return _pil_bytes(Image.fromarray(arr), "JPEG", **kw)


def test_jpeg_decode_equals_pillow_libjpeg_turbo():
    for arr in (RGB, RGB[..., 0]):
        buf = _jpeg(arr, quality=90)
        out = eio.decode_jpeg(_bytes_tensor(buf))
        ref = np.asarray(Image.open(pyio.BytesIO(buf)))
        assert out.dtype == ember.uint8
        np.testing.assert_array_equal(_hwc(out), ref.reshape(ref.shape[0], ref.shape[1], -1))
    # GRAY of a YCbCr file is libjpeg's Y plane; RGB of a gray file replicates it
    buf = _jpeg(RGB, quality=90)
    y = np.asarray(Image.open(pyio.BytesIO(buf)).convert("YCbCr"))[..., 0]
    ycc = Image.open(pyio.BytesIO(buf))
    ycc.draft("YCbCr", None)
    y = np.asarray(ycc)[..., 0]
    np.testing.assert_array_equal(_np(eio.decode_jpeg(_bytes_tensor(buf), mode="GRAY"))[0], y)
    gbuf = _bytes_tensor(_jpeg(RGB[..., 1]))
    rgb = _np(eio.decode_jpeg(gbuf, mode=eio.ImageReadMode.RGB))
    np.testing.assert_array_equal(rgb, np.repeat(_np(eio.decode_jpeg(gbuf)), 3, 0))
    with pytest.raises(RuntimeError, match="The provided mode is not supported for JPEG files"):
        eio.decode_jpeg(_bytes_tensor(buf), mode="RGB_ALPHA")
    with pytest.raises(RuntimeError, match="Not a JPEG file"):
        eio.decode_jpeg(_bytes_tensor(_pil_bytes(Image.fromarray(RGB), "PNG")))


def test_jpeg_cmyk_conversions_follow_pillow():
    cmyk = RNG.integers(0, 256, size=(6, 7, 4), dtype=np.uint8)
    buf = _pil_bytes(Image.fromarray(cmyk, "CMYK"), "JPEG", quality=95)
    pil = Image.open(pyio.BytesIO(buf))
    t = _bytes_tensor(buf)
    # libjpeg hands over Adobe's inverted values; Pillow inverts them back
    np.testing.assert_array_equal(_hwc(eio.decode_jpeg(t)), 255 - np.asarray(pil))
    rgb = pil.convert("RGB")
    np.testing.assert_array_equal(_hwc(eio.decode_jpeg(t, mode="RGB")), np.asarray(rgb))
    np.testing.assert_array_equal(_np(eio.decode_jpeg(t, mode="GRAY"))[0], np.asarray(rgb.convert("L")))


def test_jpeg_batched_device_and_errors():
    bufs = [_bytes_tensor(_jpeg(RGB)), _bytes_tensor(_jpeg(RGB[..., 2]))]
    outs = eio.decode_jpeg(bufs, device="cpu")
    assert isinstance(outs, list) and [tuple(o.shape) for o in outs] == [(3, 7, 9), (1, 7, 9)]
    assert all(o.device.type == "cpu" for o in outs)
    with pytest.raises(ValueError, match="Input list must contain at least one element"):
        eio.decode_jpeg([])
    with pytest.raises(ValueError, match="All elements of the input list must be tensors."):
        eio.decode_jpeg([bufs[0], b"x"])


def test_jpeg_encode():
    img = ember.from_numpy(np.ascontiguousarray(RGB.transpose(2, 0, 1)))
    enc = eio.encode_jpeg(img, quality=95)
    assert enc.dtype == ember.uint8 and enc.dim() == 1
    dec = np.asarray(Image.open(pyio.BytesIO(_np(enc).tobytes())))
    np.testing.assert_array_equal(_hwc(eio.decode_jpeg(enc)), dec)
    # the encoder is libjpeg-turbo at the same quality: Pillow's own encoding gives the same pixels
    np.testing.assert_array_equal(dec, np.asarray(Image.open(pyio.BytesIO(_jpeg(RGB, quality=95)))))
    small, big = eio.encode_jpeg([img, img], quality=10), eio.encode_jpeg([img], quality=100)
    assert len(small) == 2 and small[0].numel() < big[0].numel()
    with pytest.raises(ValueError, match="Image quality should be a positive number between 1 and 100"):
        eio.encode_jpeg(img, quality=0)
    with pytest.raises(ValueError, match="requires at least one input tensor"):
        eio.encode_jpeg([])
    with pytest.raises(RuntimeError, match="The number of channels should be 1 or 3, got: 2"):
        eio.encode_jpeg(ember.zeros(2, 4, 4, dtype=ember.uint8))


def test_write_jpeg(tmp_path):
    img = ember.from_numpy(np.ascontiguousarray(RGB.transpose(2, 0, 1)))
    eio.write_jpeg(img, tmp_path / "a.jpg", quality=80)
    ref = np.asarray(Image.open(tmp_path / "a.jpg"))
    np.testing.assert_array_equal(_hwc(eio.read_image(tmp_path / "a.jpg")), ref)


# ---- GIF, WebP, AVIF, HEIC, video -------------------------------------------------------------------

def test_gif_single_frame_matches_pillow():
    img = Image.fromarray(RGB).quantize(colors=32)
    buf = _pil_bytes(img, "GIF")
    out = eio.decode_image(_bytes_tensor(buf))
    assert tuple(out.shape) == (3, 7, 9) and out.dtype == ember.uint8
    np.testing.assert_array_equal(_hwc(out), np.asarray(Image.open(pyio.BytesIO(buf)).convert("RGB")))


def test_gif_animation_composes_frames():
    colors = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)
    idx = [RNG.integers(0, 4, size=(12, 10)) for _ in range(3)]
    idx[1][:6] = idx[0][:6]  # the unchanged top half lets Pillow write a cropped/transparent frame
    frames = [Image.fromarray(colors[i]) for i in idx]
    buf = _pil_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], disposal=1, duration=50)
    out = eio.decode_gif(_bytes_tensor(buf))
    assert tuple(out.shape) == (3, 3, 12, 10)
    for k in range(3):
        np.testing.assert_array_equal(_np(out[k]).transpose(1, 2, 0), colors[idx[k]], err_msg=str(k))
    interlaced = _pil_bytes(Image.fromarray(colors[idx[0]]).quantize(colors=4), "GIF", interlace=True)
    np.testing.assert_array_equal(_hwc(eio.decode_gif(_bytes_tensor(interlaced))), colors[idx[0]])


def test_webp():
    lossless = _bytes_tensor(_pil_bytes(Image.fromarray(RGBA), "WEBP", lossless=True, exact=True))
    np.testing.assert_array_equal(_hwc(eio.decode_webp(lossless)), RGBA)
    np.testing.assert_array_equal(_hwc(eio.decode_image(lossless, mode="RGB")), RGBA[..., :3])
    rgb = _bytes_tensor(_pil_bytes(Image.fromarray(RGB), "WEBP", lossless=True))
    np.testing.assert_array_equal(_hwc(eio.decode_webp(rgb)), RGB)
    rgba = _hwc(eio.decode_webp(rgb, mode="RGBA"))
    np.testing.assert_array_equal(rgba, np.concatenate([RGB, np.full((7, 9, 1), 255, np.uint8)], -1))
    with pytest.warns(UserWarning, match="Webp does not support grayscale conversions"):
        assert eio.decode_webp(rgb, mode="GRAY").shape[0] == 3


@pytest.mark.skipif(not features.check("avif"), reason="Pillow without AVIF")
def test_avif_matches_pillow():
    buf = _pil_bytes(Image.fromarray(RGB), "AVIF", quality=90)
    out = eio.decode_avif(_bytes_tensor(buf))
    np.testing.assert_array_equal(_hwc(out), np.asarray(Image.open(pyio.BytesIO(buf)).convert("RGB")))


def test_heic_and_video_raise_clear_errors():
    with pytest.raises(RuntimeError, match="HEIC"):
        eio.decode_heic(ember.zeros(4, dtype=ember.uint8))
    for fn in (eio.read_video, eio.read_video_timestamps, eio.write_video, eio.VideoReader):
        with pytest.raises(NotImplementedError, match="video"):
            fn("clip.mp4")


# ---- torchvision.utils drawing: pixel-exact against torchvision -------------------------------------

def _pair_image(arr: np.ndarray, floating: bool = False):
    chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
    if floating:
        chw = chw.astype(np.float32) / 255
    return torch.from_numpy(chw.copy()), ember.from_numpy(chw.copy())


IMG = RNG.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
BOXES = np.array([[2, 3, 20, 25], [10, 5, 45, 35], [0, 0, 49, 39]], np.float32)


@pytest.mark.parametrize("kwargs", [
    {},
    {"labels": ["cat", "dog", "a"], "colors": "red", "width": 2},
    {"colors": ["blue", (0, 255, 128), "#FF00FF"], "fill": True, "width": 3},
    {"labels": ["x", "yy", "zzz"], "colors": (10, 200, 30), "label_colors": ["white", "black", (1, 2, 3)]},
    {"labels": ["x", "yy", "zzz"], "fill_labels": True, "label_background_colors": "yellow"},
    {"labels": ["x", None, "z"], "fill_labels": True},
])
def test_draw_bounding_boxes(kwargs):
    t_img, e_img = _pair_image(IMG)
    ref = tv.utils.draw_bounding_boxes(t_img, torch.from_numpy(BOXES), **kwargs)
    out = eutils.draw_bounding_boxes(e_img, ember.from_numpy(BOXES), **kwargs)
    assert out.dtype == ember.uint8
    np.testing.assert_array_equal(_np(out), ref.numpy())


def test_draw_bounding_boxes_gray_float_rotated():
    t_img, e_img = _pair_image(IMG[..., :1])
    np.testing.assert_array_equal(
        _np(eutils.draw_bounding_boxes(e_img, ember.from_numpy(BOXES), colors="green")),
        tv.utils.draw_bounding_boxes(t_img, torch.from_numpy(BOXES), colors="green").numpy())
    t_img, e_img = _pair_image(IMG, floating=True)
    ref = tv.utils.draw_bounding_boxes(t_img, torch.from_numpy(BOXES), labels=["a", "b", "c"], fill=True)
    out = eutils.draw_bounding_boxes(e_img, ember.from_numpy(BOXES), labels=["a", "b", "c"], fill=True)
    assert out.dtype == ember.float32
    np.testing.assert_array_equal(_np(out), ref.numpy())
    rot = np.array([[5, 5, 30, 10, 25, 30, 2, 25], [40, 2, 48, 20, 30, 38, 20, 20]], np.float32)
    t_img, e_img = _pair_image(IMG)
    np.testing.assert_array_equal(
        _np(eutils.draw_bounding_boxes(e_img, ember.from_numpy(rot), colors=["red", "blue"], fill=True, width=2)),
        tv.utils.draw_bounding_boxes(t_img, torch.from_numpy(rot), colors=["red", "blue"], fill=True,
                                     width=2).numpy())


def test_draw_bounding_boxes_errors_and_warnings():
    _, e_img = _pair_image(IMG)
    with pytest.raises(TypeError, match="Tensor expected"):
        eutils.draw_bounding_boxes(IMG, ember.from_numpy(BOXES))
    with pytest.raises(ValueError, match="The image dtype must be uint8 or float"):
        eutils.draw_bounding_boxes(e_img.int(), ember.from_numpy(BOXES))
    with pytest.raises(ValueError, match="Boxes need to be in"):
        eutils.draw_bounding_boxes(e_img, ember.tensor([[5.0, 0.0, 1.0, 4.0]]))
    with pytest.raises(ValueError, match=r"Number of boxes \(3\) and labels \(1\) mismatch"):
        eutils.draw_bounding_boxes(e_img, ember.from_numpy(BOXES), labels=["a"])
    with pytest.raises(ValueError, match="Number of colors must be equal or larger"):
        eutils.draw_bounding_boxes(e_img, ember.from_numpy(BOXES), colors=["red"])
    with pytest.raises(ValueError, match="should be an RGB triplet"):
        eutils.draw_bounding_boxes(e_img, ember.from_numpy(BOXES), colors=(1, 2))
    with pytest.warns(UserWarning, match="boxes doesn't contain any box"):
        assert eutils.draw_bounding_boxes(e_img, ember.zeros(0, 4)) is e_img
    with pytest.warns(UserWarning, match="'font_size' will be ignored"):
        eutils.draw_bounding_boxes(e_img, ember.from_numpy(BOXES), font_size=20)


MASKS = np.zeros((3, 40, 50), bool)
MASKS[0, 5:20, 5:30] = True
MASKS[1, 15:35, 20:45] = True  # overlaps mask 0
MASKS[2] = RNG.random((40, 50)) > 0.8


@pytest.mark.parametrize("floating", [False, True])
@pytest.mark.parametrize("alpha,colors", [(0.8, None), (0.5, "red"), (0.3, ["blue", (0, 200, 0), "#123456"]),
                                          (1.0, None)])
def test_draw_segmentation_masks(floating, alpha, colors):
    t_img, e_img = _pair_image(IMG, floating)
    ref = tv.utils.draw_segmentation_masks(t_img, torch.from_numpy(MASKS), alpha=alpha, colors=colors)
    out = eutils.draw_segmentation_masks(e_img, ember.from_numpy(MASKS), alpha=alpha, colors=colors)
    assert str(out.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    np.testing.assert_array_equal(_np(out), ref.numpy())
    ref2 = tv.utils.draw_segmentation_masks(t_img, torch.from_numpy(MASKS[2]), colors="green")
    np.testing.assert_array_equal(_np(eutils.draw_segmentation_masks(e_img, ember.from_numpy(MASKS[2]),
                                                                     colors="green")), ref2.numpy())


def test_draw_segmentation_masks_errors():
    _, e_img = _pair_image(IMG)
    with pytest.raises(ValueError, match="The masks must be of dtype bool"):
        eutils.draw_segmentation_masks(e_img, ember.zeros(40, 50))
    with pytest.raises(ValueError, match="same height and width"):
        eutils.draw_segmentation_masks(e_img, ember.zeros(1, 4, 5, dtype=ember.bool))
    with pytest.raises(ValueError, match="Pass an RGB image"):
        eutils.draw_segmentation_masks(e_img[:1], ember.from_numpy(MASKS))
    with pytest.raises(ValueError, match="Pass individual images, not batches"):
        eutils.draw_segmentation_masks(e_img[None], ember.from_numpy(MASKS))
    with pytest.warns(UserWarning, match="masks doesn't contain any mask"):
        eutils.draw_segmentation_masks(e_img, ember.zeros(0, 40, 50, dtype=ember.bool))


KPTS = np.array([[[5, 5], [20, 30], [40, 10], [45, 35]], [[10, 30], [30, 20], [2, 2], [48, 2]]], np.float32)
VIS = np.array([[True, True, False, True], [True, False, True, True]])


@pytest.mark.parametrize("kwargs", [
    {},
    {"connectivity": [(0, 1), (1, 2), (2, 3)], "colors": "red", "radius": 3, "width": 2},
    {"connectivity": [(0, 1), (1, 2), (2, 3), (0, 3)], "colors": (0, 0, 255), "visibility": VIS},
    {"connectivity": [(0, 3)], "visibility": VIS[..., None], "radius": 1, "width": 5},
])
@pytest.mark.parametrize("floating", [False, True])
def test_draw_keypoints(kwargs, floating):
    t_img, e_img = _pair_image(IMG, floating)
    t_kw, e_kw = dict(kwargs), dict(kwargs)
    if "visibility" in kwargs:
        t_kw["visibility"] = torch.from_numpy(kwargs["visibility"])
        e_kw["visibility"] = ember.from_numpy(kwargs["visibility"])
    ref = tv.utils.draw_keypoints(t_img, torch.from_numpy(KPTS), **t_kw)
    out = eutils.draw_keypoints(e_img, ember.from_numpy(KPTS), **e_kw)
    np.testing.assert_array_equal(_np(out), ref.numpy())


def test_draw_keypoints_errors():
    _, e_img = _pair_image(IMG)
    with pytest.raises(ValueError, match=r"keypoints must be of shape \(num_instances, K, 2\)"):
        eutils.draw_keypoints(e_img, ember.zeros(4, 2))
    with pytest.raises(ValueError, match="visibility must be of shape"):
        eutils.draw_keypoints(e_img, ember.from_numpy(KPTS), visibility=ember.ones(8, dtype=ember.bool))
    with pytest.raises(ValueError, match="must have the same dimensionality"):
        eutils.draw_keypoints(e_img, ember.from_numpy(KPTS), visibility=ember.ones(2, 3, dtype=ember.bool))


@pytest.mark.parametrize("shape", [(2, 9, 11), (3, 2, 6, 7)])
def test_flow_to_image(shape):
    flow = RNG.standard_normal(shape).astype(np.float32) * 3
    ref = tv.utils.flow_to_image(torch.from_numpy(flow))
    out = eutils.flow_to_image(ember.from_numpy(flow))
    assert out.dtype == ember.uint8 and tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_array_equal(_np(out), ref.numpy())
    np.testing.assert_array_equal(_np(eutils._make_colorwheel()), tv.utils._make_colorwheel().numpy())


def test_flow_to_image_errors():
    with pytest.raises(ValueError, match="Flow should be of dtype torch.float"):
        eutils.flow_to_image(ember.zeros(2, 3, 3, dtype=ember.float64))
    with pytest.raises(ValueError, match=r"Input flow should have shape \(2, H, W\) or \(N, 2, H, W\)"):
        eutils.flow_to_image(ember.zeros(3, 3, 3))


@pytest.mark.parametrize("kwargs", [{}, {"nrow": 2, "padding": 1, "pad_value": 0.5},
                                    {"normalize": True}, {"normalize": True, "scale_each": True},
                                    {"normalize": True, "value_range": (0.2, 0.7), "padding": 0}])
def test_make_grid_and_save_image(kwargs, tmp_path):
    batch = RNG.random((5, 3, 6, 7)).astype(np.float32)
    ref = tv.utils.make_grid(torch.from_numpy(batch), **kwargs)
    out = eutils.make_grid(ember.from_numpy(batch), **kwargs)
    np.testing.assert_allclose(_np(out), ref.numpy(), rtol=0, atol=1e-6)
    tv.utils.save_image(torch.from_numpy(batch), tmp_path / "ref.png", **kwargs)
    eutils.save_image(ember.from_numpy(batch), tmp_path / "out.png", **kwargs)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")),
                                  np.asarray(Image.open(tmp_path / "ref.png")))


def test_utils_names_match_torchvision():
    public = [n for n in tv.utils.__all__ if not n.startswith("_")]
    assert sorted(public) == sorted(eutils.__all__)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eutils.draw_bounding_boxes(ember.zeros(3, 4, 4, dtype=ember.uint8), ember.tensor([[0.0, 0.0, 2.0, 2.0]]))
