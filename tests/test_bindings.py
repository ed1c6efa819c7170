"""Each backend's per-operator code lives in the operator's binding modules (conformance/backends/bindings/), named
by its record (`Operator.bindings`); the backends hold only generic code and find an operator's binding there."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import conformance
from conformance import operators
from conformance.backends import binding_of
from conformance.operators import Operator, Ref
from conformance.protocol import Invocation

BACKENDS = Path(conformance.__file__).resolve().parent / "backends"
KINDS = ("torch-cpu", "torch-npu", "aclnn")


def test_every_operator_is_bound_by_every_backend_to_an_object_of_its_binding_interface():
    from conformance.backends.aclnn.program import Chain
    from conformance.backends.torch_npu_backend import Binding
    for op in operators.all_operators():
        assert {kind for kind, _ in op.bindings} == set(KINDS), op.name
        assert callable(op.binding("torch-cpu")), op.name
        assert isinstance(op.binding("torch-npu"), Binding), op.name
        assert isinstance(op.binding("aclnn"), Chain), op.name
        for _, ref in op.bindings:  # the binding is one of the operator's own modules
            module = "conformance/" + ref.path.split(":")[0].removeprefix("conformance.").replace(".", "/") + ".py"
            assert module in op.modules, (op.name, module)
        assert op.binding("no-such-backend") is None


def test_a_record_takes_one_binding_per_backend_kind():
    with pytest.raises(ValueError, match="one per kind"):
        dataclasses.replace(operators.V3, bindings=(("aclnn", Ref("a:b")), ("aclnn", Ref("c:d"))))
    with pytest.raises(ValueError, match="pairs"):
        dataclasses.replace(operators.V3, bindings=(("aclnn", "a:b"),))


def test_the_backend_modules_hold_no_per_operator_table_or_record():
    """No backend module outside bindings/ refers to a particular operator's record (operators.MARN, .V3, ...)."""
    records = {name for name, value in vars(operators).items() if isinstance(value, Operator)}
    found = []
    for path in sorted(BACKENDS.rglob("*.py")):
        if "bindings" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in records:
                found.append(f"{path.name}:{node.lineno}: {node.attr}")
            if isinstance(node, ast.ImportFrom) and any(a.name in records for a in node.names):
                found.append(f"{path.name}:{node.lineno}: import")
    assert not found, found


@pytest.fixture
def unbound(monkeypatch):
    """A registered operator whose record names no binding (a fourth operator before its backends bind it)."""
    record = dataclasses.replace(operators.V3, name="UnboundOperator", twin=None, bindings=())
    monkeypatch.setitem(operators._BY_NAME, record.name, record)
    v3 = operators.get(operators.V3.name)
    inv = Invocation(record.name, 1, ({n: None for n in v3.abi.tensors},), {"streamMode": 1})
    return inv


@pytest.mark.parametrize("op", ["UnboundOperator", "NoSuchOperator"])
def test_an_operator_without_a_binding_is_declared_unsupported_by_each_backend(unbound, op):
    inv = dataclasses.replace(unbound, op=op)
    assert binding_of(op, "torch-cpu") is None
    from conformance.backends import torch_npu_backend as tnb
    assert tnb.unsupported_reason(inv, marn_available=True) == f"the torch_npu backend does not implement {op}"
    assert tnb.chain_unsupported_reason(inv) == f"the torch_npu backend does not implement {op}"
    from conformance.backends.aclnn.backend import AclnnBackend
    assert AclnnBackend.chain_unsupported_reason(inv) == \
        f"the aclnn backend does not implement the benchmark chain of {op}"
    pytest.importorskip("torch")
    from conformance.backends.torch_cpu import TorchCpuBackend
    assert TorchCpuBackend().unsupported_reason(inv) == f"the torch-cpu backend does not implement {op}"


def test_binding_modules_import_no_simulator():
    """Backends never import the simulator (tests/test_layering.py): neither do their bindings."""
    import subprocess
    import sys
    modules = sorted({ref.path.split(":")[0] for op in operators.all_operators() for _, ref in op.bindings})
    if importlib_util_missing("torch"):
        modules = [m for m in modules if ".torch_cpu_" not in m]
    code = (f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
            f"print(','.join(m for m in sys.modules if m == 'conformance.sim' or m.startswith('conformance.sim.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert not out, f"binding modules import {out}"


def importlib_util_missing(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is None
