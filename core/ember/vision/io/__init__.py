"""torchvision.io for ember: image files, JPEG/PNG/GIF/WebP/AVIF decoding and JPEG/PNG encoding.

The codecs are Pillow's (torchvision's are compiled C++ against libjpeg/libpng, which ember does not
build); outputs follow torchvision's decoders: uint8 (C, H, W) tensors, ``ImageReadMode`` conversions,
EXIF orientation, errors. Video I/O is not available (the names raise NotImplementedError).

Example:
    >>> import ember
    >>> from ember.vision.io import decode_image, encode_png, ImageReadMode
    >>> img = ember.full((3, 2, 2), 200, dtype=ember.uint8)
    >>> decode_image(encode_png(img), mode=ImageReadMode.GRAY).tolist()
    [[[200, 200], [200, 200]]]
"""

from ._image import (
    ImageReadMode,
    decode_avif,
    decode_gif,
    decode_heic,
    decode_image,
    decode_jpeg,
    decode_png,
    decode_webp,
    encode_jpeg,
    encode_png,
    read_file,
    read_image,
    write_file,
    write_jpeg,
    write_png,
)
from ._video import VideoReader, read_video, read_video_timestamps, write_video

__all__ = [
    "ImageReadMode",
    "decode_image",
    "decode_jpeg",
    "decode_png",
    "decode_avif",
    "decode_heic",
    "decode_webp",
    "decode_gif",
    "encode_jpeg",
    "encode_png",
    "read_file",
    "read_image",
    "write_file",
    "write_jpeg",
    "write_png",
    "read_video",
    "read_video_timestamps",
    "write_video",
    "VideoReader",
]
