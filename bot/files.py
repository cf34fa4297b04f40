"""Photos and files customers send: what is allowed, checked by the bytes, kept on disk.

A file is kept content-addressed (`<files>/ab/abcdef…`, the sha256 of the bytes kept),
written atomically, so keeping the same photo twice (a redelivered event, a retry after a
crash) writes it once. Its type is what its first bytes show, never what the platform or
the browser said. Images are decoded and re-encoded with Pillow: what is kept is pixels,
without EXIF (camera, GPS position) or anything hidden after the image. Everything but
JPEG, PNG, WebP and GIF images, MP4 video and PDF is refused.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image, ImageOps

from bot.types import Attachment

MB = 1024 * 1024
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
ALLOWED = frozenset({*IMAGE_TYPES.values(), "video/mp4", "application/pdf"})
MAX_PIXELS = 40_000_000        # a decompression bomb is refused, not decoded
SHA = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Limits:
    """The largest file kept, per kind (`HEARD_IMAGE_MAX_MB`, `HEARD_FILE_MAX_MB`)."""

    image: int = 10 * MB
    other: int = 20 * MB       # video, PDF (Telegram lets bots download up to 20 MB)

    def for_kind(self, kind: str) -> int:
        return self.image if kind == "image" else self.other


class Refused(Exception):
    """The file is not kept; `reason` is one of too_big, type, expired, unavailable."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def sniff(data: bytes) -> str | None:
    """The type the first bytes show (only types we might keep, plus MP4-family audio)."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "audio/mp4" if brand in (b"M4A ", b"M4B ") else "video/mp4"
    return None


def checked(data: bytes, kind: str, limits: Limits) -> tuple[bytes, str]:
    """The bytes to keep and their type; `Refused` when too big or not an allowed type.
    Images come back re-encoded (no metadata); video and PDF as they are."""
    if len(data) > limits.for_kind(kind):
        raise Refused("too_big", f"{len(data)} bytes")
    mime = sniff(data)
    if mime not in ALLOWED:
        raise Refused("type", mime or "unknown")
    if mime.startswith("image/"):
        return reencoded(data)
    return data, mime


def reencoded(data: bytes) -> tuple[bytes, str]:
    """Decode and encode again in the same format: EXIF, GPS and trailing bytes are gone,
    the picture turned upright as the camera meant. A file that does not decode is refused."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                if fmt not in IMAGE_TYPES:
                    raise Refused("type", fmt)
                if image.width * image.height > MAX_PIXELS:
                    raise Refused("too_big", f"{image.width}x{image.height} pixels")
                out = io.BytesIO()
                if fmt == "GIF":
                    frames = [f.copy() for f in _frames(image)]
                    frames[0].save(out, "GIF", save_all=len(frames) > 1,
                                   append_images=frames[1:], loop=0)
                else:
                    upright = ImageOps.exif_transpose(image)
                    if fmt == "JPEG" and upright.mode not in ("RGB", "L"):
                        upright = upright.convert("RGB")
                    upright.save(out, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    except Refused:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise Refused("type", f"not a readable image ({type(exc).__name__})") from exc
    return out.getvalue(), IMAGE_TYPES[fmt]


def _frames(image: Image.Image) -> list[Image.Image]:
    """Every frame of a (maybe animated) GIF, at most 500."""
    frames = []
    for index in range(min(getattr(image, "n_frames", 1), 500)):
        image.seek(index)
        frames.append(image.copy())
    return frames


class FileStore:
    """The kept files on disk, named by the sha256 of their bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if not SHA.match(sha256):
            raise ValueError("not a sha256")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Write once (atomically: a crash never leaves half a file under its name)."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.exists():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()


def keep(files: FileStore, attachment: Attachment, data: bytes, limits: Limits) -> Attachment:
    """Check `data` and keep it: the attachment `stored` or `refused` (never raises
    `Refused`). Blocking: run it in a thread from async code."""
    try:
        body, mime = checked(data, attachment.kind, limits)
    except Refused as exc:
        return refused(attachment, exc.reason, size=len(data), limits=limits)
    sha = files.put(body)
    return replace(attachment, status="stored", sha256=sha, mime=mime, size=len(body),
                   reason=None)


def refused(attachment: Attachment, reason: str, size: int | None = None,
            limits: Limits | None = None) -> Attachment:
    """`attachment` refused for `reason`; a file too big carries the limit it broke."""
    limit = limits.for_kind(attachment.kind) if limits and reason == "too_big" else None
    return replace(attachment, status="refused", reason=reason, limit=limit,
                   size=size if size is not None else attachment.declared_size)
