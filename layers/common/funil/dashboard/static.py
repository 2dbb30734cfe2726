"""The dashboard's static files (``functions/dashboard/static/``), served from the function's package.

A request names a file by a path under the folder: each segment is letters, digits, ``_``, ``-`` and
dots, never starting with a dot (no ``..``, no hidden files), nothing percent-encoded; the file must
exist inside the folder once symbolic links are resolved, and have a known extension (its content
type). Files are read once per container; gzip is computed once per file, for the text types, and
sent to clients that accept it. The strong ETag (the content's SHA-256) lets a browser revalidate
for a 304 once ``max-age`` runs out.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CONTENT_TYPES", "StaticFile", "StaticFiles"]

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
COMPRESSIBLE = (".html", ".js", ".mjs", ".css", ".json", ".map", ".webmanifest", ".txt", ".svg")
GZIP_MIN_BYTES = 1024
MAX_PATH = 200
MAX_SEGMENTS = 6
SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None  # None: not worth it (small, or already compressed)
    content_type: str
    etag: str


def _gzip(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing, no name or time: same bytes every build
    return packer.compress(data) + packer.flush()


class StaticFiles:
    """The files of one folder, by the path a request names (see the module's rules)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._files: dict[str, StaticFile] = {}

    def get(self, relative: str) -> StaticFile | None:
        if relative in self._files:
            return self._files[relative]
        path = self._path(relative)
        if path is None:
            return None
        data = path.read_bytes()
        compress = path.suffix in COMPRESSIBLE and len(data) >= GZIP_MIN_BYTES
        found = StaticFile(
            body=data,
            gzipped=_gzip(data) if compress else None,
            content_type=CONTENT_TYPES[path.suffix],
            etag='"' + hashlib.sha256(data).hexdigest()[:32] + '"',
        )
        self._files[relative] = found  # only files that exist: a flood of misses stores nothing
        return found

    def _path(self, relative: str) -> Path | None:
        if not relative or len(relative) > MAX_PATH:
            return None
        segments = relative.split("/")
        if len(segments) > MAX_SEGMENTS or not all(SEGMENT.fullmatch(segment) for segment in segments):
            return None
        candidate = self.root.joinpath(*segments)
        if candidate.suffix not in CONTENT_TYPES:
            return None
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):  # absent, or a symbolic link loop
            return None
        if not resolved.is_relative_to(self.root) or not resolved.is_file() or resolved.suffix not in CONTENT_TYPES:
            return None
        return resolved
