"""What a torch_npu or MindSpeed exception says: the aclnn status, the phase and who answered, read only from
the places the real messages carry them. Pure text work (no torch import), so the runner and tests use it too.

Sources (Ascend/pytorch@9e73e708 and Ascend/op-plugin@517f2e7d are the master heads mirrored here, the nearest
readable revisions to the torch-npu 2.13.0 wheel's git_version c798c653; Ascend/MindSpeed@028de58c):
- op_plugin calls an aclnn operator through EXEC_NPU_CMD: a non-zero GetWorkspaceSize status is raised by
  NPU_CHECK_ERROR(status, "call <api> failed") in the calling function (op_plugin/utils/op_api_common.h:382), a
  non-zero launch status by the same check inside the lambda the stream runs (op_api_common.h:395; the cached
  executor's lambda says only "call failed", :224). NPU_CHECK_ERROR formats "<__func__>:<file>:<line> NPU function
  error: <that text>, error code is <status>" (torch_npu/csrc/core/npu/NPUException.h:191-198 in the wheel's
  headers). In a lambda __func__ is "operator()": that tells the launch from GetWorkspaceSize.
- Every such message, and op_plugin's own TORCH_CHECKs (e.g. MatmulAllReduceBaseKernelNpuOpApi.cpp:46, before
  any aclnn call), end with formatErrorCode's tag "\\n[ERROR] <time> (PID:<pid>, Device:<d>, RankID:<r>)
  ERR<submodule:2><code:3> <submodule> <text>" (torch_npu/csrc/core/npu/NPUException.cpp:90-105; submodules
  PTA 0, OPS 1, DIST 2, NPUException.h:58; ACL = 100, NPUException.h:73). So a message holds the process id as
  a plain number: a status is never read from anywhere but "error code is" after "call ... failed".
- TORCH_NPU_COMPACT_ERROR_OUTPUT=1 drops the tag and may replace the text by CANN's recent error message
  (NPUException.h:164-176, OptionsManager.cpp:689-695): the rank processes run with it 0.
- MindSpeed's ACLNN_CMD raises "call <api> failed, detail:<aclGetRecentErrMsg()>" with no status number
  (mindspeed/ops/csrc/cann/inc/aclnn_common.h:618, :629): aclnn answered, its code is not reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..protocol import (ACLNN_ERR_INNER, ANSWERED_BY_ACLNN, ANSWERED_BY_MINDSPEED, ANSWERED_BY_TORCH_NPU,
                        ANSWERED_BY_UNKNOWN, PHASE_LAUNCH, PHASE_WORKSPACE, RankResult)

# NPU_CHECK_ERROR's text for a failed aclnn call: the function, file and line, then the status after "error code is"
_NPU_CALL_FAILED = re.compile(r"(?P<func>[^\s:]+):[^\s:]*:\d+ NPU function error: call (?P<api>aclnn\w+ )?failed, "
                              r"error code is (?P<code>-?\d+)")
_MINDSPEED_CALL_FAILED = re.compile(r"call (?P<api>aclnn\w+) failed, detail:")
# formatErrorCode's tag: ERR, the submodule (2 digits) and the code (3 digits), then the submodule's name
_TAG = re.compile(r"\(PID:\d+, Device:-?\d+, RankID:-?\d+\) ERR(?P<sub>\d{2})(?P<code>\d{3}) ")
SUBMODULE_OPS = "01"  # op_plugin's own checks (OPS_ERROR)
LAMBDA_FUNC = "operator()"  # __func__ inside the launch lambda of EXEC_NPU_CMD
# a Python-level refusal of the arguments (the op schema's parser, a wrapper's own checks)
ARGUMENT_ERRORS = (TypeError, ValueError, IndexError, AssertionError)
MESSAGE_LIMIT = 600


@dataclass(frozen=True)
class Reading:
    """What one exception says: the status to report, the phase ("" unknown), who answered, and the text."""
    status: int
    phase: str
    answered_by: str
    message: str


def _text(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:MESSAGE_LIMIT]


def read_exception(exc: BaseException, *, library: str = ANSWERED_BY_TORCH_NPU) -> Reading:
    """`exc` raised by a call into `library` (ANSWERED_BY_TORCH_NPU or ANSWERED_BY_MINDSPEED), read as:
    - "call <aclnn api> failed, error code is N" (NPU_CHECK_ERROR): aclnn answered with status N, in the launch if
      raised in EXEC_NPU_CMD's lambda, else in GetWorkspaceSize;
    - MindSpeed's "call <aclnn api> failed, detail:": aclnn answered, no status given (ACLNN_ERR_INNER, said so);
    - op_plugin's own TORCH_CHECK (tag ERR01xxx, OPS) or an argument error in Python: `library` answered before
      aclnn (ACLNN_ERR_INNER: no aclnn status exists);
    - MindSpeed's own untagged check (library MindSpeed, a RuntimeError without a tag): MindSpeed answered;
    - anything else (a runtime, HCCL or queue error): who answered is unknown, ACLNN_ERR_INNER.
    No other number in the message (a PID, a device, a line number, a timestamp) is ever read as a status."""
    raw = str(exc)
    text = _text(exc)
    found = _NPU_CALL_FAILED.search(raw)
    if found:
        api = (found.group("api") or "").strip() or "the cached aclnn executor"
        phase = PHASE_LAUNCH if found.group("func") == LAMBDA_FUNC else PHASE_WORKSPACE
        return Reading(int(found.group("code")), phase, ANSWERED_BY_ACLNN,
                       f"{api} returned {found.group('code')} in {phase}, through {library}: {text}")
    found = _MINDSPEED_CALL_FAILED.search(raw)
    if found and library == ANSWERED_BY_MINDSPEED:
        return Reading(ACLNN_ERR_INNER, "", ANSWERED_BY_ACLNN,
                       f"{found.group('api')} failed; MindSpeed reports no status code (reported as "
                       f"ACLNN_ERR_INNER): {text}")
    tag = _TAG.search(raw)
    if isinstance(exc, ARGUMENT_ERRORS) or (tag and tag.group("sub") == SUBMODULE_OPS):
        return Reading(ACLNN_ERR_INNER, "", library, f"rejected by {library}'s own check before aclnn: {text}")
    if library == ANSWERED_BY_MINDSPEED and isinstance(exc, RuntimeError) and not tag:
        return Reading(ACLNN_ERR_INNER, "", library, f"rejected by MindSpeed's own check before aclnn: {text}")
    return Reading(ACLNN_ERR_INNER, "", ANSWERED_BY_UNKNOWN,
                   f"{library} raised without an aclnn status (reported as ACLNN_ERR_INNER): {text}")


# What torch_npu's task queue says once an earlier launch failed: every later operator of the process raises
# (Ascend/pytorch@9e73e708 torch_npu/csrc/core/npu/NPUQueue.cpp:313-332: "The Inner error is reported as above.",
# status ERROR_EXIT, then CAN_EXIT: "Inner error happened with CAN_EXIT status", :307-308).
_QUEUE_POISONED = re.compile(r"The Inner error is reported as above|Inner error happened")


def poisons_worker(result: RankResult) -> bool:
    """Whether a rank's failure may leave its process unusable for the next call: anything but a clean refusal
    before a kernel ran (the client library's own check, or aclnn's GetWorkspaceSize), and any task-queue error.
    The backend restarts such a worker group before the next invocation."""
    if not result.status:
        return False
    if _QUEUE_POISONED.search(result.message):
        return True
    if result.answered_by in (ANSWERED_BY_TORCH_NPU, ANSWERED_BY_MINDSPEED):
        return False
    return not (result.answered_by == ANSWERED_BY_ACLNN and result.phase == PHASE_WORKSPACE)
