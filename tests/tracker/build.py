"""Builds ingest_service/static/tracker.js from tracker.src.js: comments and spaces removed
(rjsmin, no renaming), so the readable source stays the one to edit.

    python tests/tracker/build.py          # rewrite tracker.js, print its sizes

test_tracker_build.py fails when the committed tracker.js is not this script's output.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import rjsmin

STATIC = Path(__file__).resolve().parents[2] / "ingest_service" / "static"
SOURCE = STATIC / "tracker.src.js"
OUTPUT = STATIC / "tracker.js"


def build() -> str:
    """The served tracker: the source without comments and spaces."""
    return rjsmin.jsmin(SOURCE.read_text(), keep_bang_comments=False) + "\n"


def gzipped_size(text: str) -> int:
    return len(gzip.compress(text.encode(), compresslevel=9))


if __name__ == "__main__":
    built = build()
    OUTPUT.write_text(built)
    print(f"{OUTPUT.name}: {len(built.encode())} bytes, {gzipped_size(built)} gzipped")
