from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator

from django.db import transaction
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.imports.cleaning import CleanRow, clean_row
from leads.imports.mapping import TARGETS, headers_signature
from leads.models import (
    ImportJob,
    MappingPreset,
)

logger = logging.getLogger(__name__)


def mapping_preset_find(*, headers: list[str], source: str = "") -> MappingPreset | None:
    """Return the newest preset saved for these headers, preferring one from the same source."""
    presets = MappingPreset.objects.filter(signature=headers_signature(headers))
    return presets.filter(source=source.strip()).first() or presets.first()


@transaction.atomic
def mapping_preset_save(*, by, job: ImportJob, name: str) -> MappingPreset:
    """Save the job's mapping under a name for its source (replacing a preset of the same name)."""
    name = (name or "").strip()[:100]
    if not name:
        raise ApplicationError("Give the mapping preset a name.")
    preset, _ = MappingPreset.objects.update_or_create(
        source=job.source,
        name=name,
        defaults={
            "signature": headers_signature(job.headers),
            "headers": job.headers,
            "mapping": job.mapping,
            "keep_extra": job.keep_extra,
            "created_by": by,
            "created_at": timezone.now(),
        },
    )
    return preset


def int_mapping(job: ImportJob) -> dict[int, str]:
    return {int(key): target for key, target in job.mapping.items() if target in TARGETS}


def clean_cells(job: ImportJob, mapping: dict[int, str], line: int, cells: list[str]) -> CleanRow:
    return clean_row(line=line, cells=cells, mapping=mapping, headers=job.headers, keep_extra=job.keep_extra)


def chunks(rows: Iterable, size: int) -> Iterator[list]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
