"""What the twin's C library hands its Python side for one aclnn call, and what that side answers.

The one interface between the twin's runtime (`cann_twin.c` and `bridge.py`: descriptors read out of C, device
memory that is host memory) and the operators it executes (`operators.py`: the suite's device model). Neither
side knows how the other is built; both know only these types.

- A `DeviceTensor` is an aclTensor as aclCreateTensor received it: view shape, strides and offset in elements,
  aclDataType and aclFormat as names, storage shape, and `storage`, a writable 1-D numpy view of the whole
  storage in device memory (the same bytes the runtime's aclrtMemcpy reads back).
- An `aclScalar` is a `Scalar`; an aclIntArray a tuple of ints; a NULL pointer None; C scalars (double, int64,
  bool, char*) plain Python values.
- `RankContext`: who this process is (rank of the communicator, world size, device) and how to reach its
  peers (`comm(name)`: the twin's HCCL communicator of that name).
- Every call answers an `Answer`: the status its C function returns (and the workspace size for
  GetWorkspaceSize). A kernel's failure is `kernel_status`: the launch returns 0 and the stream reports it at
  the next synchronise, as on a device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from ..protocol import TensorArg


@dataclass(frozen=True)
class DeviceTensor:
    dtype: str  # "float16", "bfloat16", "float32", "int8", "int32", "int64", "uint64", "bool", ...
    shape: tuple[int, ...]
    strides: tuple[int, ...]  # elements
    offset: int  # elements, from the storage's first element
    format: str  # aclFormat name: "ND", "NCL", "NCHW", "FRACTAL_NZ", ...
    storage_shape: tuple[int, ...]
    storage: np.ndarray  # 1-D, writable, dtype as numpy (bfloat16 as ml_dtypes.bfloat16, uint64 as uint64)

    def view(self) -> np.ndarray:
        """The view's elements, as a strided numpy view of device memory (writes go to the device)."""
        item = self.storage.dtype.itemsize
        base = self.storage[self.offset:]
        return np.lib.stride_tricks.as_strided(base, shape=self.shape, strides=tuple(s * item for s in self.strides))

    def to_arg(self) -> TensorArg:
        """The suite's TensorArg of this tensor (data: a copy of the view's values; the storage shape as given)."""
        return TensorArg(self.dtype, self.shape, self.strides, self.format,
                         self.storage_shape if self.storage_shape != self.shape else None, np.array(self.view()))

    def write(self, values: np.ndarray) -> None:
        """Store `values` (the view's shape) through the view, as a kernel writing its output."""
        self.view()[...] = np.asarray(values).astype(self.storage.dtype, copy=False).reshape(self.shape)


@dataclass(frozen=True)
class Scalar:
    """An aclScalar: its value and its aclDataType name."""
    value: float | int | bool
    dtype: str


class Comm(Protocol):
    name: str
    rank: int
    size: int

    def allgather(self, payload: bytes) -> list[bytes]: ...  # every rank's payload, in rank order


@dataclass(frozen=True)
class RankContext:
    device: int
    comm: Callable[[str], Comm]  # the communicator of a name (HcclGetCommName's); KeyError for an unknown one
    revision: str  # the sim-cann source revision the twin models (conformance/sim/cann/revisions.py)


@dataclass(frozen=True)
class Answer:
    status: int = 0  # what the C function returns
    workspace: int = 0  # GetWorkspaceSize's *workspaceSize
    message: str = ""  # what aclGetRecentErrMsg returns after a failure
    kernel_status: int = 0  # a launch that returns 0 but fails on the device: reported at synchronise
