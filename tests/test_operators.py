"""The operator record and registry (conformance/operators/): one description per operator, every generic layer
iterating it, and no operator name known outside the operator's own modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import conformance
from conformance import operators
from conformance.operators import Ref

PACKAGE = Path(conformance.__file__).resolve().parent
ROOT = PACKAGE.parent


def test_lookup_and_a_one_line_error_for_an_unknown_operator():
    for op in operators.all_operators():
        assert operators.get(op.name) is op
    with pytest.raises(operators.UnknownOperator) as info:
        operators.get("NoSuchMatmulAllReduce")  # a name no operator will take (a real one once stood here)
    message = str(info.value)
    assert "\n" not in message and "NoSuchMatmulAllReduce'" in message and "QuantMatmulAllReduceV3" in message


def test_every_pointer_resolves():
    for op in operators.all_operators():
        for field, value in vars(op).items():
            if isinstance(value, Ref):
                assert value.load() is not None, f"{op.name}.{field} -> {value.path}"


def test_records_are_consistent():
    for op in operators.all_operators():
        assert op.summed_output in op.outputs
        assert set(op.rank_local_args) <= set(op.abi.inputs)
        assert op.dtype_arg in op.abi.tensors and op.shape_arg in op.abi.tensors
        assert op.abi.workspace_fn == op.abi.execute_fn + "GetWorkspaceSize"
        assert all((ROOT / m).is_file() for m in op.modules), [m for m in op.modules if not (ROOT / m).is_file()]
        twin = operators.twin_of(op)
        if twin is not None:
            assert twin.twin == op.name and twin.writes_inplace != op.writes_inplace
            assert op.twin_case_id(f"{op.short}-tiny-w2", twin) == f"{twin.short}-tiny-w2"
            assert op.twin_case_id("other-tiny-w2", twin) is None


def test_every_case_names_a_registered_operator_and_starts_with_its_prefix():
    from conformance import casegen
    for case in casegen.catalogue():
        op = operators.get(case.op)
        assert case.id.startswith(op.short + "-"), case.id  # the twin-case surgery (twin_case_id) relies on it


# ---- no operator name outside the operator's own modules ---------------------------------------------------------

def _own_modules() -> set[str]:
    own = {str(p.relative_to(ROOT)) for p in (PACKAGE / "operators").glob("*.py")}
    for op in operators.all_operators():
        own.update(op.modules)
    return own


def name_uses(source: str) -> list[tuple[int, str]]:
    """Lines of `source` whose code (not a docstring) holds an operator's name as a string, or asks whether a name
    starts or ends with a part of one (`op.startswith("Inplace")`): the ways a module decides by operator name."""
    tree = ast.parse(source)
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    names = set(operators.names())
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if node.value in names or any(node.value.endswith(n) for n in names):
                hits.append((node.lineno, node.value))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("startswith", "endswith", "removeprefix", "removesuffix") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and any(node.args[0].value in n for n in names)):
            hits.append((node.lineno, node.args[0].value))
    return hits


def test_no_operator_name_outside_its_own_modules():
    own = _own_modules()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if rel not in own:
            found += [f"{rel}:{line}: {text!r}" for line, text in name_uses(path.read_text(encoding="utf-8"))]
    assert not found, "operator names in generic code:\n" + "\n".join(found)


def test_the_name_scan_sees_comparisons_and_ignores_docstrings():
    assert name_uses('"""QuantMatmulAllReduceV3 is documented here."""\nx = 1\n') == []
    assert name_uses('if op == "QuantMatmulAllReduceV3":\n    pass\n') == [(1, "QuantMatmulAllReduceV3")]
    assert name_uses('inplace = op.startswith("Inplace")\n') == [(1, "Inplace")]
    assert name_uses('TABLE = {"MatmulAllReduceAddRmsNorm": 1}\n') == [(1, "MatmulAllReduceAddRmsNorm")]
    assert name_uses('fn = "aclnnQuantMatmulAllReduceV3"\n') == [(1, "aclnnQuantMatmulAllReduceV3")]
    assert name_uses('label = "Inplace"\n') == []  # a word in a message decides nothing
