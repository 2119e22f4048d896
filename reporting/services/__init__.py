"""Writes of the reporting app: rollup maintenance and saved reviews."""

from __future__ import annotations

from reporting.services.reviews import review_snapshot_save
from reporting.services.rollups import rollups_mark_dirty, rollups_rebuild, rollups_refresh

__all__ = ["review_snapshot_save", "rollups_mark_dirty", "rollups_rebuild", "rollups_refresh"]
