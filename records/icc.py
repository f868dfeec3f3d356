"""The sRGB ICC profile of the PDF/A output intent, built at run time.

LittleCMS (bundled with Pillow) builds an sRGB IEC 61966-2.1 profile from
its primaries and transfer curve, so the project ships no third-party profile.
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """Bytes of an ICC sRGB display profile (RGB data colour space)."""
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    data = profile.tobytes()
    if data[36:40] != b"acsp" or data[16:20] != b"RGB ":
        raise RuntimeError("LittleCMS returned something that is not an RGB ICC profile")
    return data
