"""The base of every part of the served documents (pure): immutable, keyword-only.

The store caches one document per version and hands the same objects to every reader, so
every part is frozen; the bot documents (core/documents.py) and the monitor's own status
parts (core/monitor_documents.py) derive from it.
"""

from __future__ import annotations

import msgspec


class DocPart(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every document part: immutable (shared by all readers of a version)."""
