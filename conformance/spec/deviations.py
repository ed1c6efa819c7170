"""Where the published implementation contradicts a document: named, quoted from both sides, waivable.

A `Deviation` is not a verdict. It says: the document promises X (quoted), the open-sourced implementation
does Y (file:line at a named revision), and these cases will therefore fail on a device that behaves as the
source does. `waivers/cann-source-deviations.toml` holds one waiver per record (its issue is the record id),
so a release team can accept a deviation on purpose instead of being surprised by it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Deviation:
    id: str  # DEV-MARN-001, DEV-V3-001: never renumbered
    ops: tuple[str, ...]
    constraints: tuple[str, ...]  # the catalogue records whose promise the implementation breaks
    document_quote: str  # verbatim sentence of the contract document
    document_ref: str  # document and section
    source_ref: str  # "hicann/ops-transformer@<rev> path:line" (one or more, "; "-separated)
    behaviour: str  # what the implementation does instead (English)
    case_patterns: tuple[str, ...]  # case-id globs (* and ?) of the cases that fail because of it
