"""Records shared by the sim-cann host models: rules with their source citation, and a host verdict."""

from __future__ import annotations

from dataclasses import dataclass

REPO = "hicann/ops-transformer"
REVISION = "c29bc1069d3252c641e2aa059ec88f392d3f05ac"  # 2025-11-15, the revision every citation refers to
REV = REVISION[:7]

WORKSPACE = "workspace"  # GetWorkspaceSize returned the status (tiling runs inside it: 561002 comes from here)
LAUNCH = "launch"  # GetWorkspaceSize returned 0; the second call (kernel launch) returned the status


@dataclass(frozen=True)
class HostRule:
    """One check of the published host path (op_api, generated checks, tiling or launch)."""

    id: str  # CANN-MARN-H01 ..., CANN-V3-H01 ...: in the order the implementation runs them
    phase: str  # WORKSPACE or LAUNCH
    status: int  # the aclnn status it returns
    source: str  # "path:line" inside REPO at REVISION (or "hicann/opbase@rev path:line")
    summary: str  # what it checks, in English


@dataclass(frozen=True)
class HostVerdict:
    """What the host path answers for one rank's arguments."""

    status: int  # 0 or the aclnn status
    phase: str = ""  # WORKSPACE or LAUNCH for a rejection; "" on success
    rule: str = ""  # HostRule.id that decided it ("" on success)
    message: str = ""
    launched: bool = True  # False: the empty-tensor short-cut returned 0 and nothing ran
    x2_read_contiguous: bool = False  # a strided (not transposed) x2 was accepted and is read as contiguous
