"""Each backend's binding of each operator: one module per (backend, operator), named `<backend>_<operator>.py`.

The backends (conformance/backends/) hold only generic code; an operator's record (conformance/operators/) points
to its bindings by backend kind (`Operator.bindings`), and a backend asks `operators.get(op).binding(kind)`:
- "torch-cpu": a function `run(inv, chain) -> [{output name: array} per rank]` (conformance/backends/torch_cpu.py);
- "torch-npu": a `torch_npu_backend.Binding` (entry point, what it can express, the chain's steps);
- "aclnn": a `program.Chain`, the benchmark chain of separate aclnn operators (the fused call needs none: the
  record's ABI says it all).
These modules belong to their operator (its record's `modules`): they may know it, the backends never do.
"""
