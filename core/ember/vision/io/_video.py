"""Video reading and writing: not available in ember.vision.io.

torchvision 0.28's open-source wheels no longer ship ``read_video``, ``read_video_timestamps``,
``write_video`` or ``VideoReader`` (video moved to TorchCodec), and ember has no video codec
(FFmpeg/PyAV bindings). These names exist so that code reaching for them fails with a message saying
what is missing instead of an AttributeError.

Example:
    >>> try:
    ...     read_video("clip.mp4")
    ... except NotImplementedError as err:
    ...     print(str(err).split(":")[0])
    ember.vision.io.read_video is not available
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["read_video", "read_video_timestamps", "write_video", "VideoReader"]


def _missing(name: str) -> NoReturn:
    raise NotImplementedError(
        f"ember.vision.io.{name} is not available: ember has no video decoder/encoder (it would need FFmpeg "
        "bindings such as PyAV), and torchvision 0.28 itself moved video I/O to TorchCodec. "
        "Decode frames with another library and convert them with ember.from_numpy.")


def read_video(*args: Any, **kwargs: Any) -> NoReturn:
    """Not available: raises NotImplementedError naming the missing video decoder."""
    _missing("read_video")


def read_video_timestamps(*args: Any, **kwargs: Any) -> NoReturn:
    """Not available: raises NotImplementedError naming the missing video decoder."""
    _missing("read_video_timestamps")


def write_video(*args: Any, **kwargs: Any) -> NoReturn:
    """Not available: raises NotImplementedError naming the missing video encoder."""
    _missing("write_video")


class VideoReader:
    """Not available: constructing it raises NotImplementedError naming the missing video decoder."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _missing("VideoReader")
