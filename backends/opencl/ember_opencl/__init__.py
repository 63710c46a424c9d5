"""OpenCL backend for ember: device discovery, a strided array type and generated kernels.

Importing this package never touches OpenCL; contexts are created on first use.
"""

from __future__ import annotations

from ember_opencl.runtime import select_devices

__version__ = "0.1.0"

__all__ = ["select_devices"]
