"""The data path's layers know only the ones below them: checked on the import graph, in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys

import pytest

# module -> packages it must not pull in
RULES = [
    ("conformance.engine.worker", ("conformance.backends", "pytest")),
    ("conformance.engine", ("conformance.backends", "pytest")),
    ("conformance.sim", ("pytest",)),
    # the hook sites sit below everything: the validators (no simulator) and the simulator's faults both use them
    ("conformance.hooks", ("conformance.sim", "conformance.validate", "conformance.spec", "conformance.backends",
                           "numpy", "pytest")),
    ("conformance.validate", ("conformance.sim", "conformance.backends", "pytest")),  # shared by sim and torch-cpu
    ("conformance.sim.cann.backend", ("pytest",)),
    ("conformance.backends", ("pytest",)),
    ("conformance.judge", ("pytest",)),
    ("conformance.doctor", ("pytest", "conformance.sim")),  # the node checks: unit-testable, no pytest
    ("conformance.spec", ("conformance.casegen", "conformance.sim", "conformance.backends", "pytest")),
    # the option table and the judging context: names and checks only, no layer that acts on them
    ("conformance.options", ("conformance.sim", "conformance.backends", "conformance.judge", "pytest")),
    ("conformance.context", ("conformance.sim", "conformance.backends", "conformance.judge", "pytest")),
    ("conformance.operators", ("conformance.sim", "conformance.backends", "conformance.casegen", "conformance.spec",
                               "conformance.tolerance", "pytest")),
    # backends never import the simulator (host checks come through the operator record's validate)
    ("conformance.backends", ("conformance.sim", "pytest")),
    ("conformance.backends.aclnn.backend", ("conformance.sim", "pytest")),
    ("conformance.backends.torch_npu_backend", ("conformance.sim", "pytest")),
    # tolerance never calls a backend, nor materialises cases (conformance/precision_runs.py does, for it)
    ("conformance.tolerance", ("conformance.backends", "conformance.casegen", "conformance.judge")),
    ("conformance.tolerance.precision", ("conformance.backends", "conformance.casegen", "conformance.judge")),
    ("conformance.tolerance.marn_check", ("conformance.backends", "conformance.casegen", "conformance.judge")),
    ("conformance.tolerance.v3_check", ("conformance.backends", "conformance.casegen", "conformance.judge")),
    ("conformance.reporting", ("conformance.casegen", "conformance.spec", "conformance.sim", "conformance.backends")),
    ("conformance.reporting.diff", ("conformance.casegen", "conformance.spec", "conformance.sim",
                                    "conformance.backends", "pytest")),
    ("conformance.reporting.allure_results", ("conformance.casegen", "conformance.spec", "conformance.sim",
                                              "conformance.backends", "pytest")),
    ("conformance.results", ("conformance.casegen", "conformance.spec", "conformance.sim", "conformance.backends",
                             "conformance.reporting", "conformance.pytest_plugin", "pytest")),
]


@pytest.mark.parametrize("module,forbidden", RULES, ids=[r[0] for r in RULES])
def test_module_does_not_import_upward(module, forbidden):
    code = (f"import sys, {module}\n"
            f"bad = [m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in {forbidden!r})]\n"
            f"print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert not out, f"{module} imports {out}"


def test_one_definition_of_the_numeric_path_names():
    """The option table offers the simulator's paths by the names numeric_paths defines; the numerics implement
    exactly those."""
    from conformance import numeric_paths
    from conformance.sim import marn_numerics, v3_numerics
    from conformance.sim.backend import SimOptions
    assert tuple(marn_numerics.RMS_SOURCES) == numeric_paths.RMS_SOURCES
    assert tuple(v3_numerics.X3_ROUNDINGS) == numeric_paths.X3_ROUNDINGS
    for accumulation in numeric_paths.ALLREDUCE_ACCUMULATIONS:
        SimOptions(allreduce_accumulation=accumulation)


def test_one_definition_of_the_world_sizes():
    from conformance.casegen import model as casegen_model
    from conformance.hw import leasing
    from conformance.spec import model
    from conformance.validate import marn as validate_marn
    from conformance.validate import v3 as validate_v3
    assert casegen_model.VALID_WORLD_SIZES is model.VALID_WORLD_SIZES
    assert leasing.VALID_SIZES is model.VALID_WORLD_SIZES
    assert validate_marn.VALID_WORLD_SIZES is model.VALID_WORLD_SIZES is validate_v3.VALID_WORLD_SIZES


# ---- the installed package never reads the repository around it ------------------------------------------------------

# paths built from __file__ that still climb out of the package, left to their module's owner: (file, source line)
KNOWN_CLIMBS: set[tuple[str, str]] = set()


def _climbs_out(source: str, depth: int) -> list[tuple[int, str]]:
    """The lines of `source` (a module `depth` folders below the package's top: conformance/x.py is 1) whose
    path, built from __file__, names a folder above the package: .parent, .parents[i], os.path.dirname and ".."
    each climb one level, through names assigned such a path (the path of the module's own file is level 0)."""
    import ast
    tree = ast.parse(source)
    names: dict[str, int] = {}

    def ups(node) -> int:
        return (node.value.replace("\\", "/").split("/").count("..")
                if isinstance(node, ast.Constant) and isinstance(node.value, str) else 0)

    def level(node) -> int | None:
        if isinstance(node, ast.Name):
            return 0 if node.id == "__file__" else names.get(node.id)
        if isinstance(node, ast.Attribute):
            base = level(node.value)
            return None if base is None else base + (node.attr == "parent")
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "parents":
            base = level(node.value.value)
            index = node.slice.value if isinstance(node.slice, ast.Constant) else 99  # unknown: assume far up
            return None if base is None else base + int(index) + 1
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            base = level(node.left)
            return None if base is None else base + ups(node.right)
        if isinstance(node, ast.Call):
            func = node.func
            bases = [level(func.value)] if isinstance(func, ast.Attribute) else []
            bases = [b for b in bases + [level(a) for a in node.args] if b is not None]
            if not bases:
                return None
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            return max(bases) + (name == "dirname") + sum(ups(a) for a in node.args)
        return None

    assigns = [n for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.AnnAssign)) and n.value is not None]
    for _ in range(len(assigns) + 1):  # to a fixed point: names assigned from names
        before = dict(names)
        for n in assigns:
            lv = level(n.value)
            for target in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                if lv is not None and isinstance(target, ast.Name):
                    names[target.id] = max(lv, names.get(target.id, 0))
        if names == before:
            break
    def crosses(node) -> bool:  # this expression climbs out (its parts do not yet): each climb reported once
        inner = [level(c) for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
        return (not isinstance(node, ast.Name) and (level(node) or 0) > depth
                and all(x is None or x <= depth for x in inner))

    lines = source.splitlines()
    return sorted({(n.lineno, lines[n.lineno - 1].strip()) for n in ast.walk(tree)
                   if isinstance(n, ast.expr) and crosses(n)})


def test_no_module_builds_a_path_above_the_package_from_its_own_location():
    """An installed package has no repository around it: what it needs at run time is package data
    (conformance/data/), the suite's test modules are `--cases DIR`, and no module climbs from its __file__ out
    of conformance/ (cases/, golden/, the repository root)."""
    from pathlib import Path

    import conformance
    # the check itself can fail: the pre-package-data spellings are caught, paths inside the package are not
    assert _climbs_out('DEFAULT_DIR = Path(__file__).resolve().parent.parent / "golden"', 1)
    assert _climbs_out('D = Path(__file__).resolve().parent.parent.parent / "cases" / "regressions.json"', 2)
    assert _climbs_out('HERE = Path(__file__).parent\nX = HERE.parent / "cases"', 1)
    assert _climbs_out('X = os.path.join(os.path.dirname(__file__), "..", "golden")', 1)
    assert _climbs_out('X = Path(__file__).parents[1] / "cases"', 1)
    assert not _climbs_out('D = Path(__file__).resolve().parent.parent / "data" / "regressions.json"', 2)
    assert not _climbs_out('D = Path(__file__).resolve().parent / "data" / "golden"', 1)
    package = Path(conformance.__file__).resolve().parent
    found = set()
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        for lineno, line in _climbs_out(path.read_text(), len(rel.parts)):
            found.add((rel.as_posix(), line, lineno))
    bad = sorted(f"conformance/{f}:{n}: {line}" for f, line, n in found if (f, line) not in KNOWN_CLIMBS)
    assert not bad, "paths out of the package, built from __file__:\n" + "\n".join(bad)
    stale = KNOWN_CLIMBS - {(f, line) for f, line, _ in found}
    assert not stale, f"fixed: remove {sorted(stale)} from KNOWN_CLIMBS"


def test_the_torch_backend_does_not_import_the_simulator():
    pytest.importorskip("torch")
    test_module_does_not_import_upward("conformance.backends.torch_cpu", ("conformance.sim", "pytest"))
