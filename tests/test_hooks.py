"""Faults are objects with hooks (conformance/sim/faults.py and each operator's sim/<op>_faults.py), asked at
declared sites (conformance/hooks.py's generic ones, each operator's own in the module that asks for them): no code
tests a fault's name, and a misspelt site fails at once instead of leaving its fault silently untested."""

import ast
import importlib
from pathlib import Path

import pytest

from conformance import hooks, operators
from conformance.hooks import NO_HOOKS, SITES, UnknownSite
from conformance.sim.faults import FAULTS, RELATION_FAULTS, ROUNDING_FAULTS, Fault, parse_faults

PACKAGE = Path(__file__).resolve().parents[1] / "conformance"
ROOT = PACKAGE.parent
# the fault modules: the generic registry and each operator's own (its record's `faults`)
FAULT_MODULES = {PACKAGE / "sim" / "faults.py"} | {
    ROOT / (op.faults.path.split(":")[0].replace(".", "/") + ".py") for op in operators.all_operators() if op.faults}


def _module(path: Path):
    """The package module at `path`, imported (so the hook sites it declares are in SITES)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))


def _hook_modules() -> dict[Path, ast.Module]:
    """Every module of the package that declares a hook site or asks for one, imported first: then SITES holds
    every site (an operator's own are declared by its modules on import)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        if "site(" in source or ".at(" in source:
            _module(path)
            found[path] = ast.parse(source)
    return found
# string constants that spell a fault's name but mean something else: (file, value) -> why
NOT_A_FAULT = {("relations.py", "nondeterministic"): "the determinism relation's check category",
               ("results.py", "nondeterministic"): "that category in the results schema's Category enum"}


def fault_names_in(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string constant of `source` that is a fault's name or starts `unchecked:` (also the
    constant start of an f-string such as f"unchecked:{cid}")."""
    names = set(FAULTS) | set(RELATION_FAULTS) | set(ROUNDING_FAULTS)
    found = set()
    for node in ast.walk(ast.parse(source)):  # an f-string's constant parts are Constant nodes too
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in names or node.value.startswith("unchecked:"):
                found.add((node.lineno, node.value))
    return sorted(found)


def test_no_module_but_the_registry_names_a_fault():
    offenders = []
    assert len(FAULT_MODULES) == 1 + sum(1 for op in operators.all_operators() if op.faults)
    assert all(path.is_file() for path in FAULT_MODULES), FAULT_MODULES
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in FAULT_MODULES:
            continue
        for line, text in fault_names_in(path.read_text()):
            if (path.name, text) not in NOT_A_FAULT:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}")
    assert not offenders, ("fault names outside the fault modules (sim/faults.py, sim/<op>_faults.py; give the "
                           "fault a hook instead):\n" + "\n".join(offenders))


def test_the_name_scan_can_fail():
    old = ('rounder = dtypes.truncate_to if "truncate" in faults else dtypes.round_to\n'
           'skip = f"unchecked:{cid}" not in faults\n')
    assert [t for _, t in fault_names_in(old)] == ["truncate", "unchecked:"]


def test_asking_for_an_undeclared_site_raises():
    with pytest.raises(UnknownSite, match="not declared"):
        NO_HOOKS.at("marn.rounnd", 1)
    with pytest.raises(UnknownSite, match="not declared"):
        parse_faults(["truncate"]).at("marn.rounnd", 1)
    with pytest.raises(UnknownSite, match="not declared"):
        parse_faults([]).at("marn.rounnd", 1)


def test_a_fault_hooking_an_undeclared_site_is_refused():
    with pytest.raises(UnknownSite, match="not declared"):
        Fault("typo", (), "hooks a misspelt site", hooks={"marn.rounnd": lambda value, **_: value})


def test_unknown_fault_names_are_refused():
    with pytest.raises(ValueError, match="unknown fault"):
        parse_faults(["trunacte"])


def test_no_hooks_and_an_empty_fault_set_answer_the_value():
    _hook_modules()
    for site in SITES:
        assert NO_HOOKS.at(site, "v", anything=1) == "v"
        assert parse_faults([]).at(site, "v", anything=1) == "v"


def _sites_asked() -> dict[str, list[str]]:
    """site -> where code asks for it: every `<x>.at(NAME, ...)` whose NAME is a site constant in its module's
    namespace (a generic site imported from conformance.hooks, or one the module declares or imports)."""
    asked: dict[str, list[str]] = {}
    aliases: list[tuple[str, dict]] = []
    for path, tree in _hook_modules().items():
        if path in FAULT_MODULES:
            continue
        namespace = vars(_module(path))
        constants = {name: value for name, value in namespace.items() if isinstance(value, str) and value in SITES}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "at"
                    and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in constants):
                asked.setdefault(constants[node.args[0].id], []).append(f"{path.name}:{node.lineno}")
        # an alias table {site: site}: a module that sees another operator's sites through its own (an OwnSites
        # wrapper) asks each alias wherever the aliased site is asked
        aliases += [(f"{path.name}:{name}", value) for name, value in namespace.items() if isinstance(value, dict)
                    and value and all(isinstance(k, str) and k in SITES and v in SITES for k, v in value.items())]
    for where, table in aliases:
        for aliased, own in table.items():
            if aliased in asked:
                asked.setdefault(own, []).append(where)
    return asked


def test_every_declared_site_is_asked_for_and_hooked():
    """No dead site: each is asked for by some code and hooked by some fault."""
    asked = _sites_asked()
    hooked = {site for f in [*FAULTS.values(), *RELATION_FAULTS.values(), *ROUNDING_FAULTS.values()]
              for site in f.hooks}
    assert set(SITES) == set(asked), f"declared but never asked: {sorted(set(SITES) - set(asked))}"
    assert set(SITES) == hooked, f"declared but no fault hooks them: {sorted(set(SITES) - hooked)}"


def test_every_fault_has_hooks():
    assert all(f.hooks for f in [*FAULTS.values(), *RELATION_FAULTS.values(), *ROUNDING_FAULTS.values()])


def test_hooks_apply_in_registry_order():
    """Faults hooking one site apply in registry order, whatever order they were named in."""
    both = ["inplace-writes-normout", "inplace-no-write"]
    order = [n for n in FAULTS if n in both]
    calls = []
    for name in order:
        for hook in FAULTS[name].hooks.values():
            calls.append(hook)
    from conformance.sim.marn_numerics import MARN_INPLACE_WRITTEN as site
    assert parse_faults(both)._hooks[site] == calls == parse_faults(both[::-1])._hooks[site]


def test_shared_faults_join_the_operators_shares_in_registry_order():
    """A shared fault (sim/faults.py) is declared once; each operator's Share (its own fault module) adds the
    constraints it breaks there and its hooks at that operator's sites."""
    from conformance.sim import faults as registry
    shared = {f.name for f in registry._SHARED}
    shares = {}
    for op in operators.all_operators():
        for item in (op.faults.load()() if op.faults else ()):
            if isinstance(item, registry.Share):
                assert item.fault in shared, item.fault
                shares.setdefault(item.fault, []).append(item)
    for name in shared:
        fault = {**FAULTS, **RELATION_FAULTS}[name]
        base = next(f for f in registry._SHARED if f.name == name)
        parts = shares.get(name, [])
        assert fault.violates == base.violates + tuple(c for p in parts for c in p.violates)
        assert list(fault.hooks) == [*base.hooks, *(site for p in parts for site in p.hooks)]
    with pytest.raises(ValueError, match="two hooks"):
        registry._joined(FAULTS["lsb-drift"], registry.Share("lsb-drift", (), dict(FAULTS["lsb-drift"].hooks)))


def test_unchecked_faults_switch_off_their_rule_only():
    faults = parse_faults(["unchecked:MARN-ATTR-004"])
    assert faults.at(hooks.RULE_CHECKED, True, cid="MARN-ATTR-004") is False
    assert faults.at(hooks.RULE_CHECKED, True, cid="MARN-ATTR-003") is True


def test_fault_sets_pickle():
    import pickle
    faults = parse_faults(["truncate", "unchecked:MARN-ATTR-004"])
    again = pickle.loads(pickle.dumps(faults))
    assert again == faults and again.at(hooks.RULE_CHECKED, True, cid="MARN-ATTR-004") is False
