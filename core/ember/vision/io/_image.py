"""torchvision.io's image functions: read/write files, decode and encode JPEG, PNG, GIF, WebP, AVIF.

torchvision decodes with libjpeg(-turbo), libpng, giflib and libwebp through its compiled C++
extension. ember has no compiled extension, so the codecs are Pillow's (which wraps libjpeg-turbo,
zlib, libwebp and libavif itself), with the same outputs as torchvision's decoders: uint8 CHW tensors
(16-bit PNGs: int32 holding 0..65535, see below), the ``ImageReadMode`` conversions computed as
libjpeg/libpng compute them, EXIF orientation, torchvision's error types and messages. A 16-bit
PNG is decoded by ``_png`` itself (Pillow narrows 16-bit colour to 8 bits) and GIF by ``_gif`` (Pillow
composes animation frames its own way).

Example:
    >>> import ember
    >>> from ember.vision import io
    >>> img = ember.arange(24, dtype=ember.uint8).reshape(2, 3, 4)[:1]
    >>> bool((io.decode_png(io.encode_png(img)) == img).all())
    True
"""

from __future__ import annotations

import io as _pyio
import os
import warnings
from enum import Enum
from typing import Any

import numpy as np
from PIL import Image, features

import ember

from ._gif import decode_gif_array
from ._png import decode_png_array

__all__ = [
    "ImageReadMode", "decode_image", "decode_jpeg", "decode_png", "decode_avif", "decode_heic", "decode_webp",
    "decode_gif", "encode_jpeg", "encode_png", "read_file", "read_image", "write_file", "write_jpeg", "write_png",
]


class ImageReadMode(Enum):
    """How decoders convert the decoded image: UNCHANGED, GRAY, GRAY_ALPHA, RGB, RGB_ALPHA (alias RGBA).

    Strings work too (``mode="RGB"``). GRAY and GRAY_ALPHA exist for PNG and JPEG (JPEG has no alpha).
    """

    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = RGB_ALPHA


# How c10 names dtypes in TORCH_CHECK messages ("got float" for float32), as torchvision prints them.
_C10_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
              "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool"}


def _mode(mode: ImageReadMode | str) -> ImageReadMode:
    return ImageReadMode[mode.upper()] if isinstance(mode, str) else mode


def _check_tensor(data: Any) -> None:
    if not ember.is_tensor(data):
        raise TypeError(f"expected Tensor as element 0 in argument 0, but got {type(data).__name__}")


def _encoded_bytes(data: Any) -> bytes:
    """The bytes of a 1-D uint8 tensor, checked as torchvision's validate_encoded_data does."""
    _check_tensor(data)
    if not data.is_contiguous():
        raise RuntimeError("Input tensor must be contiguous.")
    if data.dtype != ember.uint8:
        name = str(data.dtype).replace("ember.", "")
        raise RuntimeError(f"Input tensor must have uint8 data type, got {_C10_NAMES.get(name, name)}")
    if data.dim() != 1 or data.numel() == 0:
        raise RuntimeError(
            f"Input tensor must be 1-dimensional and non-empty, got {data.dim()} dims  and {data.numel()} numels.")
    return data.to("cpu").numpy().tobytes()


def _to_tensor(hwc: np.ndarray) -> ember.Tensor:
    """An (H, W, C) array as a CHW tensor; 16-bit samples become int32 (ember has no uint16)."""
    if hwc.dtype == np.uint16:
        hwc = hwc.astype(np.int32)
    return ember.from_numpy(np.ascontiguousarray(hwc.transpose(2, 0, 1)))


def _orient(hwc: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation tag (1..8) to an (H, W, C) array; other values leave it as is."""
    if orientation == 2:
        return hwc[:, ::-1]
    if orientation == 3:
        return hwc[::-1, ::-1]
    if orientation == 4:
        return hwc[::-1]
    if orientation == 5:
        return hwc.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(hwc, -1)
    if orientation == 7:
        return hwc.transpose(1, 0, 2)[::-1, ::-1]
    if orientation == 8:
        return np.rot90(hwc, 1)
    return hwc


# ---- files ---------------------------------------------------------------------------------------
def read_file(path: str | os.PathLike) -> ember.Tensor:
    """The bytes of a file as a 1-D uint8 tensor.

    Example:
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "f.bin")
        >>> write_file(p, ember.tensor([1, 2, 3], dtype=ember.uint8))
        >>> read_file(p).tolist()
        [1, 2, 3]
    """
    path = str(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise RuntimeError(f"[Errno {err.errno}] {err.strerror}: '{path}'") from None
    if not data:
        raise RuntimeError("Expected a non empty file")
    return ember.from_numpy(np.frombuffer(data, dtype=np.uint8).copy())


def write_file(filename: str | os.PathLike, data: ember.Tensor) -> None:
    """Write a 1-D uint8 tensor's bytes to ``filename``."""
    _check_tensor(data)
    if data.dtype != ember.uint8:
        raise RuntimeError("Input tensor dtype should be uint8")
    if data.dim() != 1:
        raise RuntimeError("Input data should be a 1-dimensional tensor")
    try:
        with open(str(filename), "wb") as f:
            f.write(data.to("cpu").contiguous().numpy().tobytes())
    except OSError:
        raise RuntimeError("Error opening output file") from None


# ---- PNG -----------------------------------------------------------------------------------------
def decode_png(input: ember.Tensor, mode: ImageReadMode | str = ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> ember.Tensor:
    """Decode PNG bytes to a (C, H, W) tensor: uint8, or for 16-bit files int32 in [0, 65535].

    torchvision returns ``torch.uint16`` for 16-bit files; ember has no uint16 dtype, so the same values
    come in int32. A palette image read UNCHANGED gives its palette indices (one channel), as libpng does.
    """
    buf = _encoded_bytes(input)
    hwc, orientation = decode_png_array(buf, _mode(mode).value)
    if apply_exif_orientation:
        hwc = _orient(hwc, orientation)
    return _to_tensor(hwc)


def encode_png(input: ember.Tensor, compression_level: int = 6) -> ember.Tensor:
    """Encode a uint8 (C, H, W) tensor with 1 or 3 channels as PNG bytes (a 1-D uint8 tensor)."""
    _check_tensor(input)
    if input.device.type != "cpu":
        raise RuntimeError("Input tensor should be on CPU")
    if input.dtype != ember.uint8:
        raise RuntimeError("Input tensor dtype should be uint8")
    if not 0 <= compression_level <= 9:
        raise RuntimeError("Compression level should be between 0 and 9")
    if input.dim() != 3:
        raise RuntimeError("Input data should be a 3-dimensional tensor")
    channels = input.size(0)
    if channels not in (1, 3):
        raise RuntimeError(f"The number of channels should be 1 or 3, got: {channels}")
    hwc = np.ascontiguousarray(input.numpy().transpose(1, 2, 0))
    img = Image.fromarray(hwc[:, :, 0] if channels == 1 else hwc)
    out = _pyio.BytesIO()
    img.save(out, format="PNG", compress_level=compression_level)
    return ember.from_numpy(np.frombuffer(out.getvalue(), dtype=np.uint8).copy())


def write_png(input: ember.Tensor, filename: str | os.PathLike, compression_level: int = 6) -> None:
    """Encode ``input`` as PNG and write it to ``filename``."""
    write_file(filename, encode_png(input, compression_level))


# ---- JPEG ----------------------------------------------------------------------------------------
def _decode_jpeg_array(buf: bytes, mode: ImageReadMode, exif: bool) -> np.ndarray:
    if len(buf) < 2 or buf[:2] != b"\xff\xd8":
        raise RuntimeError(f"Not a JPEG file: starts with 0x{buf[0]:02x} 0x{buf[1] if len(buf) > 1 else 0:02x}")
    if mode not in (ImageReadMode.UNCHANGED, ImageReadMode.GRAY, ImageReadMode.RGB):
        raise RuntimeError("The provided mode is not supported for JPEG files")
    try:
        im = Image.open(_pyio.BytesIO(buf))
        orientation = int(im.getexif().get(0x0112, -1)) if exif else -1
        if mode is ImageReadMode.GRAY and im.mode == "RGB":
            # libjpeg's own colour -> grayscale output (the Y plane of YCbCr files), as torchvision asks
            im.draft("L", None)
        arr = np.asarray(im)
    except (OSError, ValueError, SyntaxError) as err:
        raise RuntimeError(str(err)) from None
    arr = arr.reshape(arr.shape[0], arr.shape[1], -1)
    if im.mode == "CMYK":
        raw = 255 - arr.astype(np.int64)  # libjpeg's values: Pillow inverted them (Adobe convention)
        if mode is ImageReadMode.UNCHANGED:
            arr = raw.astype(np.uint8)
        else:
            # torchvision's CMYK -> RGB (Pillow's formula): k - k * (255 - c) / 255 with rounding, clamped
            k = raw[..., 3:]
            v = k * (255 - raw[..., :3]) + 128
            rgb = np.clip(k - (((v >> 8) + v) >> 8), 0, 255)
            if mode is ImageReadMode.RGB:
                arr = rgb.astype(np.uint8)
            else:
                r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
                arr = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)[..., None].astype(np.uint8)
    elif mode is ImageReadMode.RGB and arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return _orient(arr, orientation)


def decode_jpeg(input: ember.Tensor | list[ember.Tensor], mode: ImageReadMode | str = ImageReadMode.UNCHANGED,
                device: str | ember.device = "cpu",
                apply_exif_orientation: bool = False) -> ember.Tensor | list[ember.Tensor]:
    """Decode JPEG bytes (or a list of them) to uint8 (C, H, W) tensors on ``device``.

    The input tensors must be on the CPU; decoding runs on the host and the result moves to ``device``.
    """
    device = ember.device(device) if isinstance(device, str) else device
    mode = _mode(mode)
    if isinstance(input, list):
        if len(input) == 0:
            raise ValueError("Input list must contain at least one element")
        if not all(ember.is_tensor(t) for t in input):
            raise ValueError("All elements of the input list must be tensors.")
        if not all(t.device.type == "cpu" for t in input):
            raise ValueError("Input list must contain tensors on CPU.")
        return [_to_tensor(_decode_jpeg_array(_encoded_bytes(t), mode, apply_exif_orientation)).to(device)
                for t in input]
    _check_tensor(input)
    if input.device.type != "cpu":
        raise ValueError("Input tensor must be a CPU tensor")
    return _to_tensor(_decode_jpeg_array(_encoded_bytes(input), mode, apply_exif_orientation)).to(device)


def _encode_jpeg_one(image: ember.Tensor, quality: int) -> ember.Tensor:
    _check_tensor(image)
    if image.device.type != "cpu":
        raise RuntimeError("Input tensor should be on CPU")
    if image.dtype != ember.uint8:
        raise RuntimeError("Input tensor dtype should be uint8")
    if image.dim() != 3:
        raise RuntimeError("Input data should be a 3-dimensional tensor")
    channels = image.size(0)
    if channels not in (1, 3):
        raise RuntimeError(f"The number of channels should be 1 or 3, got: {channels}")
    hwc = np.ascontiguousarray(image.numpy().transpose(1, 2, 0))
    img = Image.fromarray(hwc[:, :, 0] if channels == 1 else hwc)
    out = _pyio.BytesIO()
    img.save(out, format="JPEG", quality=quality)  # libjpeg defaults: 4:2:0 chroma, no optimisation
    return ember.from_numpy(np.frombuffer(out.getvalue(), dtype=np.uint8).copy())


def encode_jpeg(input: ember.Tensor | list[ember.Tensor],
                quality: int = 75) -> ember.Tensor | list[ember.Tensor]:
    """Encode uint8 (C, H, W) tensor(s) with 1 or 3 channels as JPEG bytes (1-D uint8 tensors)."""
    if quality < 1 or quality > 100:
        raise ValueError("Image quality should be a positive number between 1 and 100")
    if isinstance(input, list):
        if not input:
            raise ValueError("encode_jpeg requires at least one input tensor when a list is passed")
        return [_encode_jpeg_one(t, quality) for t in input]
    return _encode_jpeg_one(input, quality)


def write_jpeg(input: ember.Tensor, filename: str | os.PathLike, quality: int = 75) -> None:
    """Encode ``input`` as JPEG and write it to ``filename``."""
    write_file(filename, encode_jpeg(input, quality))


# ---- GIF, WebP, AVIF, HEIC -----------------------------------------------------------------------
def decode_gif(input: ember.Tensor) -> ember.Tensor:
    """Decode a GIF to uint8 RGB: (C, H, W) for one frame, (N, C, H, W) for N frames."""
    frames = decode_gif_array(_encoded_bytes(input))
    out = ember.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))
    return out.squeeze(0) if out.size(0) == 1 else out


def _rgb_or_rgba(buf: bytes, mode: ImageReadMode, fmt: str) -> np.ndarray:
    """RGB or RGBA like torchvision's helper: RGB / RGBA modes force it, others follow the file's alpha."""
    try:
        im = Image.open(_pyio.BytesIO(buf), formats=[fmt])
        if fmt == "WEBP" and getattr(im, "n_frames", 1) > 1:
            raise RuntimeError("Animated webp files are not supported.")
        has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
        if mode is ImageReadMode.RGB:
            rgba = False
        elif mode is ImageReadMode.RGB_ALPHA:
            rgba = True
        else:
            rgba = has_alpha
        return np.asarray(im.convert("RGBA" if rgba else "RGB"))
    except (OSError, ValueError, SyntaxError) as err:
        raise RuntimeError(f"{fmt} decoding failed: {err}") from None


def decode_webp(input: ember.Tensor, mode: ImageReadMode | str = ImageReadMode.UNCHANGED) -> ember.Tensor:
    """Decode a (still) WebP image to uint8 RGB or RGBA (C, H, W)."""
    buf = _encoded_bytes(input)
    mode = _mode(mode)
    if mode in (ImageReadMode.GRAY, ImageReadMode.GRAY_ALPHA):
        warnings.warn("Webp does not support grayscale conversions. "
                      "The returned tensor will be in the colorspace of the original image.", stacklevel=2)
    return _to_tensor(_rgb_or_rgba(buf, mode, "WEBP"))


def decode_avif(input: ember.Tensor, mode: ImageReadMode | str = ImageReadMode.UNCHANGED) -> ember.Tensor:
    """Decode an AVIF image to uint8 RGB or RGBA (C, H, W) through Pillow's libavif.

    torchvision needs the separate ``torchvision-extra-decoders`` package for this; ember uses Pillow when it
    has AVIF support. Images deeper than 8 bits come back as 8-bit (Pillow's AVIF reader gives 8 bits).
    """
    if not features.check("avif"):
        raise RuntimeError("AVIF decoding needs Pillow built with libavif (Pillow >= 11.2).")
    buf = _encoded_bytes(input)
    return _to_tensor(_rgb_or_rgba(buf, _mode(mode), "AVIF"))


def decode_heic(input: ember.Tensor, mode: ImageReadMode | str = ImageReadMode.UNCHANGED) -> ember.Tensor:
    """HEIC decoding: Pillow has no HEIC reader, so this raises torchvision's missing-decoder RuntimeError."""
    raise RuntimeError(
        "In order to enable the HEIC decoding capabilities, torchvision needs `torchvision-extra-decoders`; "
        "ember decodes images with Pillow, which has no HEIC reader (a plugin such as pillow-heif is not used).")


# ---- any format ----------------------------------------------------------------------------------
def decode_image(input: ember.Tensor | str | os.PathLike, mode: ImageReadMode | str = ImageReadMode.UNCHANGED,
                 apply_exif_orientation: bool = False) -> ember.Tensor:
    """Decode JPEG, PNG, GIF or WebP bytes (or the file at a path) by their signature."""
    if not ember.is_tensor(input):
        input = read_file(str(input))
    mode = _mode(mode)
    buf = _encoded_bytes(input)
    if buf[:3] == b"\xff\xd8\xff":
        return decode_jpeg(input, mode, apply_exif_orientation=apply_exif_orientation)
    if buf[:4] == b"\x89PNG":
        return decode_png(input, mode, apply_exif_orientation=apply_exif_orientation)
    if buf[:4] == b"GIF8":
        return decode_gif(input)
    if buf[:4] == b"RIFF" and buf[8:12] == b"WEBP":
        return decode_webp(input, mode)
    raise RuntimeError("Unsupported image file. Only jpeg, png, webp and gif are currently supported. "
                       "For avif and heic format, please rely on `decode_avif` and `decode_heic` directly.")


def read_image(path: str | os.PathLike, mode: ImageReadMode | str = ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> ember.Tensor:
    """[OBSOLETE in torchvision] Read and decode an image file; use :func:`decode_image`."""
    return decode_image(read_file(path), mode, apply_exif_orientation=apply_exif_orientation)
