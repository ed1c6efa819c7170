"""Nightly mutation testing of the CPU simulators (not CI): how much of the simulators' behaviour the case
catalogue pins down, measured by mutants nobody hand-picked (the named faults of conformance/sim/faults.py are
our own imagination; these are not).

Tool: a small AST mutator in this script. mutmut 3.8.1 was installed and read first (pip install --target, not
into the venv): its configuration lives in [tool.mutmut] of pyproject.toml or setup.cfg (files of other owners),
its only runner is pytest (PytestRunner: it first collects per-test coverage stats over the selected pytest
run, then forks a worker per mutant in a trampolined copy of the tree under mutants/); it cannot run an
arbitrary in-process command such as "judge the signoff cases, stop at the first failure", and a pytest
session per mutant plus its stats pass over the suite does not fit two shared cores. cosmic-ray runs a
subprocess per mutant (a ~3 s import of numpy and the catalogue each time) from a session database: the same
cost. Here each mutant is compiled once and swapped into the loaded module (the function objects keep their
identity, only their __code__ changes, so every importer - the operator records' Refs, v3_numerics'
`allreduce`, sim-cann - sees it), the test runs in this process with every case already built, and the module
is restored: a killed mutant costs milliseconds, a survivor one pass over the light signoff cases (~10 s).

Operators (one mutant per site and replacement):
  cmp     comparison swaps: < -> <=, >=; <= -> <, >; > -> >=, <=; >= -> >, <; == <-> !=; is <-> is not;
  in      in <-> not in;
  boolop  and <-> or;
  not     `not x` -> `x`;
  int     integer constant c -> c + 1, c - 1 (not bools, not inside f-strings);
  return  `return v` -> `return None`;
  yield   `yield v` -> `yield None`, and deleting a yield statement (a rule that is never run).
  hook    a hook call `<hooks>.at(SITE, value, **context)` (SITE a hook site constant in the mutated module's
          namespace: conformance/hooks.py's generic sites or the operator's own, declared with hooks.site) ->
          the same call on the faults that hook SITE (sim/faults.py's registry): they are on in a clean run.
Not mutated: docstrings and f-string messages (no contract rests on them) and fault code. The perturbations live
in the hooks of the fault modules (conformance/sim/faults.py, sim/<op>_faults.py: not mutated modules); in a
mutated module a hook call's `value` is the
correct computation (mutated as any code) and its keyword arguments are the context only hooks read (not
mutated), as are module-level functions named only there and the branch of an `if <hooks>.at(SITE, False, ...)`
(only a fault enters it: the rule a fault adds to a validator). Fault-hook code is exercised by tests/test_detection.py,
not by the contract. A module-level assignment mutant rebinds the module's assigned names (values other modules
copied at import keep the original).

Test per mutant:
  validators, numerics (validate_marn, validate_v3, marn_numerics, v3_numerics): the signoff cases on the clean
    SimulatorBackend, light (no case id containing "tp_layer" or "medium"), invalid cases first, then exact,
    then valid, judged under --status-check convention (the stricter check: it also demands the aclnn code
    where the document states none, as tests/test_detection.py does for such `unchecked:` faults); the first
    failing case (or an exception, or a timeout) kills the mutant.
  host model (sim-cann marn_host, v3_host): what the host model answers on the same cases must be unchanged
    (HostTest.signature: status, phase and deciding source rule of the first rank that rejects, else rank 0's
    launch facts and MARN's AddRmsNorm tiling mode), then tests/test_sim_cann_<op>_host.py must pass (pytest in
    process, -x).

Usage (nightly; run from the repository root with the venv):
  python bench/mutation.py --minutes 25 [--module validate_marn ...] [--resume] [--list]
State (one record per mutant, by module, site and mutation) is kept in bench/mutation_state.json after every
mutant, so --resume carries on where a time box stopped; results go to bench/mutation_results.json (score per
module, time taken, every survivor with file:line and the mutation). A mutant listed in
bench/mutation-equivalents.md (its `module:line` and mutation text in an entry heading) is reported as
equivalent and left out of the score's denominator.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import copy
import importlib
import json
import re
import signal
import sys
import time
import types
from pathlib import Path
from conformance.context import Context

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

STATE = ROOT / "bench" / "mutation_state.json"
RESULTS = ROOT / "bench" / "mutation_results.json"
EQUIVALENTS = ROOT / "bench" / "mutation-equivalents.md"

def _modules() -> dict[str, tuple[str, str]]:
    """name -> (module, kind) for every registered operator's validator and numerics ("contract") and sim-cann
    host model ("host"), read from the operator records: validators first, then numerics, then host models (the
    priority order of a time-boxed run). A module several records share (twins) is listed once."""
    from conformance import operators
    groups: tuple[dict, dict, dict] = ({}, {}, {})
    for op in operators.all_operators():
        for group, ref, kind in ((0, op.validate, "contract"), (1, op.numerics, "contract"),
                                 (2, op.host_model, "host")):
            if ref is None:
                continue
            module = ref.path.partition(":")[0]
            package, _, last = module.rpartition(".")
            name = f"validate_{last}" if package.endswith(".validate") else last
            groups[group].setdefault(name, (module, kind))
    return {**groups[0], **groups[1], **groups[2]}


MODULES = _modules()


def _host_tests(name: str) -> list[str]:
    """The test files of host module `name`: those that import it from conformance.sim.cann."""
    pattern = re.compile(rf"from conformance\.sim\.cann(\.{name}\b| import [^\n]*\b{name}\b)")
    return sorted(str(p) for p in (ROOT / "tests").glob("test_*.py") if pattern.search(p.read_text()))


MUTANT_TIMEOUT_S = 120

_CMP = {ast.Lt: (ast.LtE, ast.GtE), ast.LtE: (ast.Lt, ast.Gt), ast.Gt: (ast.GtE, ast.LtE),
        ast.GtE: (ast.Gt, ast.Lt), ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,), ast.Is: (ast.IsNot,),
        ast.IsNot: (ast.Is,), ast.In: (ast.NotIn,), ast.NotIn: (ast.In,)}
_SYM = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is",
        ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in", ast.And: "and", ast.Or: "or"}


def _hook_sites(mod) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Site constant name in module `mod`'s namespace (a generic site it imports from conformance/hooks.py, or one
    of the operator's own, declared with hooks.site) -> (site, the faults that hook it, in registry order)."""
    from conformance import hooks
    from conformance.sim.faults import FAULTS, RELATION_FAULTS, ROUNDING_FAULTS
    faults = [*FAULTS.values(), *RELATION_FAULTS.values(), *ROUNDING_FAULTS.values()]
    hooking = {site: tuple(f.name for f in faults if site in f.hooks) for site in hooks.SITES}
    return {name: (value, hooking[value]) for name, value in vars(mod).items()
            if isinstance(value, str) and value in hooks.SITES}


def _hook_site(node, sites) -> str | None:
    """The site constant's name if `node` is a hook call `<hooks>.at(SITE, value, **context)`, else None."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "at"
            and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in sites):
        return node.args[0].id
    return None


def _never_without_a_fault(test, sites) -> bool:
    """`<hooks>.at(SITE, False or None, ...)`: a branch only a fault's hook can enter (`if hooks.at(SITE, False,
    bias=...): yield <the rule the fault adds>`), fault code as much as the hook."""
    return (_hook_site(test, sites) is not None and len(test.args) > 1 and isinstance(test.args[1], ast.Constant)
            and test.args[1].value in (False, None))


def _skipped_nodes(tree, sites) -> set[int]:
    """ids of nodes not to mutate: docstrings, f-strings, hook calls' context (all their descendants)."""
    skip: set[int] = set()

    def drop(n):
        for d in ast.walk(n):
            skip.add(id(d))

    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            drop(node)
        elif _hook_site(node, sites) is not None:
            for keyword in node.keywords:  # the context: only the faults' hooks read it
                drop(keyword)
        if isinstance(node, (ast.If, ast.IfExp)) and _never_without_a_fault(node.test, sites):
            for b in (node.body if isinstance(node.body, list) else [node.body]):
                drop(b)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                drop(first)
    for fn in _fault_only_functions(tree, skip):
        drop(fn)
    return skip


def _fault_only_functions(tree, hook_nodes: set[int]) -> list[ast.FunctionDef]:
    """Module-level functions named only inside hook calls' context (only a fault's hook calls them): fault code
    as much as the hook."""
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    inside = {fn: {id(d) for d in ast.walk(node)} for fn, node in functions.items()}
    only_in_hooks = []
    for name, node in functions.items():
        uses = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == name
                and id(n) not in inside[name]]
        if uses and all(id(u) in hook_nodes for u in uses):
            only_in_hooks.append(node)
    return only_in_hooks


def _sites(tree, sites):
    """[(walk index, kind, arg, line, description)] in ast.walk order of a fresh parse."""
    skip = _skipped_nodes(tree, sites)
    parents = {id(c): p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    out = []
    for i, node in enumerate(ast.walk(tree)):
        if id(node) in skip:
            continue
        line = getattr(node, "lineno", 0)
        hook = _hook_site(node, sites)
        if hook is not None and sites[hook][1]:
            site, faults = sites[hook]
            out.append((i, "hook", faults, line, f"{site} hooks on ({', '.join(faults)})"[:120]))
        if isinstance(node, ast.Compare):
            for j, op in enumerate(node.ops):
                for new in _CMP.get(type(op), ()):
                    kind = "in" if isinstance(op, (ast.In, ast.NotIn)) else "cmp"
                    out.append((i, kind, (j, new.__name__), line, f"{_SYM[type(op)]} -> {_SYM[new]}"))
        elif isinstance(node, ast.BoolOp):
            new = ast.Or if isinstance(node.op, ast.And) else ast.And
            out.append((i, "boolop", new.__name__, line, f"{_SYM[type(node.op)]} -> {_SYM[new]}"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            operand = ast.unparse(node.operand)[:40]
            out.append((i, "not", None, line, f"not {operand} -> {operand}"))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            for d in (1, -1):
                out.append((i, "int", d, line, f"{node.value} -> {node.value + d}"))
        elif isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            out.append((i, "return", None, line, f"return {ast.unparse(node.value)[:50]} -> return None"))
        elif isinstance(node, ast.Yield) and node.value is not None:
            out.append((i, "yield", None, line, f"yield {ast.unparse(node.value)[:50]} -> yield None"))
            parent = parents.get(id(node))
            if isinstance(parent, ast.Expr):
                out.append((i, "yield_del", None, line, f"delete `yield {ast.unparse(node.value)[:50]}`"))
    return out


def _apply(tree, site) -> ast.AST:
    tree = copy.deepcopy(tree)
    nodes = list(ast.walk(tree))
    parents = {id(c): p for p in nodes for c in ast.iter_child_nodes(p)}
    idx, kind, arg = site[0], site[1], site[2]
    node = nodes[idx]
    if kind in ("cmp", "in"):
        j, name = arg
        node.ops[j] = getattr(ast, name)()
    elif kind == "boolop":
        node.op = getattr(ast, arg)()
    elif kind == "not":
        _replace(parents[id(node)], node, node.operand)
    elif kind == "int":
        node.value = node.value + arg
    elif kind == "return":
        node.value = ast.Constant(None)
    elif kind == "yield":
        node.value = ast.Constant(None)
    elif kind == "yield_del":
        _replace(parents[id(parents[id(node)])], parents[id(node)], ast.Pass())
    elif kind == "hook":  # <hooks>.at(...) -> parse_faults([the site's faults]).at(...)
        module = ast.Call(ast.Name("__import__", ast.Load()), [ast.Constant("conformance.sim.faults")],
                          [ast.keyword("fromlist", ast.List([ast.Constant("parse_faults")], ast.Load()))])
        faults = ast.Call(ast.Attribute(module, "parse_faults", ast.Load()),
                          [ast.List([ast.Constant(f) for f in arg], ast.Load())], [])
        node.func = ast.Attribute(faults, "at", ast.Load())
    return ast.fix_missing_locations(tree)


def _replace(parent, old, new):
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return
        if isinstance(value, list):
            for i, v in enumerate(value):
                if v is old:
                    value[i] = new
                    return
    raise RuntimeError("node not found in its parent")


class Swap:
    """Put a mutated module's code into the loaded module in place; undo() restores it."""

    def __init__(self, module: types.ModuleType, tree: ast.AST):
        self.module, self.saved_code, self.saved_attrs = module, [], {}
        ns = {"__name__": module.__name__, "__package__": module.__package__, "__file__": module.__file__,
              "__builtins__": builtins}
        exec(compile(tree, module.__file__, "exec"), ns)
        assigned = {t.id for s in tree.body if isinstance(s, (ast.Assign, ast.AnnAssign))
                    for t in (s.targets if isinstance(s, ast.Assign) else [s.target]) if isinstance(t, ast.Name)}
        for name, new in ns.items():
            old = module.__dict__.get(name)
            if isinstance(new, types.FunctionType) and isinstance(old, types.FunctionType):
                self._code(old, new)
            elif isinstance(new, type) and isinstance(old, type) and new.__module__ == module.__name__:
                for attr, nv in vars(new).items():
                    ov = vars(old).get(attr)
                    if isinstance(nv, property) and isinstance(ov, property):
                        nv, ov = nv.fget, ov.fget
                    if isinstance(nv, (staticmethod, classmethod)):
                        nv, ov = nv.__func__, getattr(ov, "__func__", None)
                    if isinstance(nv, types.FunctionType) and isinstance(ov, types.FunctionType):
                        self._code(ov, nv)
            elif name in assigned and not isinstance(new, types.ModuleType):
                self.saved_attrs[name] = old
                setattr(module, name, new)

    def _code(self, old, new):
        self.saved_code.append((old, old.__code__, old.__defaults__, old.__kwdefaults__))
        if old.__code__.co_freevars != new.__code__.co_freevars:
            raise RuntimeError(f"closure of {old.__name__} changed")
        old.__code__, old.__defaults__, old.__kwdefaults__ = new.__code__, new.__defaults__, new.__kwdefaults__

    def undo(self):
        for fn, code, defaults, kwdefaults in reversed(self.saved_code):
            fn.__code__, fn.__defaults__, fn.__kwdefaults__ = code, defaults, kwdefaults
        for name, value in self.saved_attrs.items():
            setattr(self.module, name, value)


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def light_signoff():
    from conformance import casegen
    cases = [c for c in casegen.select(profile="signoff", world_sizes=(1, 2, 4, 8))
             if "tp_layer" not in c.id and "medium" not in c.id]
    order = {"invalid": 0, "exact": 1, "valid": 2}
    return sorted(cases, key=lambda c: (order.get(c.kind, 3), c.cost))


class ThreadedProcessMode:
    """The simulator's process mode (SimRankProgram: each rank's own contributions, the all-gather, the reduce
    and its own finish) with the ranks on threads of this process, so that a mutant swapped into the numerics
    also reaches the code only process mode runs (marn_numerics.contributions / reduce_partials,
    v3_numerics.output_for); the rank engine's worker processes would run the unmutated module."""

    name = "sim-process-threads"

    def unsupported_reason(self, inv):
        return None

    def invoke(self, inv):
        import threading

        from conformance.engine.program import RankCall
        from conformance.sim.rank_program import SimRankProgram
        from helpers import ThreadChannel
        channel, out = ThreadChannel(inv.world_size), [None] * inv.world_size

        def rank_main(r):
            try:
                out[r] = SimRankProgram(rank=r, world_size=inv.world_size, device=None).invoke(RankCall(
                    inv.op, r, inv.world_size, inv.ranks[r], inv.attrs, inv.shape_only, inv.case_id,
                    channel.rank(r), inv.ranks))
            except BaseException as exc:  # noqa: BLE001 - the peers must not wait for this rank
                out[r] = exc
                channel.barrier.abort()

        threads = [threading.Thread(target=rank_main, args=(r,)) for r in range(inv.world_size)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        failed = [x for x in out if isinstance(x, BaseException)]
        if failed:
            raise failed[0]
        return out


def signoff_relations(backend):
    """The signoff's relation tests (cases/test_relations.py: its case lists, the relations it calls, minus
    determinism, which is recorded, not required) as (label, thunk returning a RelationResult)."""
    import importlib.util

    from conformance import casegen, relations
    spec = importlib.util.spec_from_file_location("signoff_relations", ROOT / "cases" / "test_relations.py")
    tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tests)
    multi = [i for i in tests.MARN_IDS + tests.INPLACE_IDS + tests.V3_IDS if not i.endswith("-w1")]
    by_id = {c.id: c for c in casegen.catalogue()}
    runs = [(f"inplace_matches {i}", lambda c=by_id[i]: relations.inplace_matches(backend, c, 0))
            for i in tests._catalogued(tests.MARN_IDS + tests.INPLACE_IDS)]
    runs += [(f"cross_rank_identity {i}", lambda c=by_id[i]: relations.cross_rank_identity(backend, c, 0))
             for i in tests._catalogued(multi)]
    runs += [(f"rank_permutation {i}", lambda c=by_id[i]: relations.rank_permutation(backend, c, 0))
             for i in tests._catalogued(multi)]
    runs += [(f"chain_matches {i}", lambda c=by_id[i]: relations.chain_matches(backend, c, 0))
             for i in tests._catalogued(tests.V3_IDS[:2])]
    runs += [(f"same_rejection {a.id}", lambda a=a, b=b: relations.same_rejection(backend, a, b, 0))
             for a, b in tests._twin_pairs()]
    return runs


class ContractTest:
    """The light signoff cases and the signoff's relations on the in-process simulator and, for the numerics
    (`process_mode`), the valid and exact cases again on the process mode's code path (ThreadedProcessMode)."""

    def __init__(self, *, process_mode: bool = False):
        from conformance.judge import run_case
        from conformance.sim import SimulatorBackend
        sim = SimulatorBackend()

        def judged(backend, case):
            def run():
                outcome = run_case(case, backend, Context(seed=0, with_metrics=False, status_check="convention",
                                                                  unsupported_inputs="reject"))
                return None if outcome.passed else outcome.category
            return f"{case.id} ({backend.name})", run

        def related(label, thunk):
            def run():
                result = thunk()
                return None if result.passed else result.status
            return label, run

        self.runs = [judged(sim, c) for c in light_signoff()]
        self.runs += [related(label, thunk) for label, thunk in signoff_relations(sim)]
        if process_mode:
            self.runs += [judged(ThreadedProcessMode(), c) for c in light_signoff() if c.kind != "invalid"]
        self.last_killer = None  # the run that killed the previous mutant goes first next time

    def __call__(self) -> str | None:
        """None if every case and relation passes, else why the mutant died."""
        order = self.runs
        if self.last_killer is not None:
            order = [self.last_killer] + [x for x in order if x is not self.last_killer]
        for item in order:
            label, run = item
            why = run()
            if why is not None:
                self.last_killer = item
                return f"{label}: {why}"
        return None


class HostTest:
    def __init__(self, name: str):
        from conformance.casegen.inputs import materialise
        self.name = name
        self.host = importlib.import_module(MODULES[name][0])
        from conformance import operators
        module = MODULES[name][0]
        ops = {op.name for op in operators.all_operators() if op.host_model and op.host_model.path.startswith(
            module + ":")}
        self.items = [(c.id, materialise(c, 0)) for c in light_signoff() if c.op in ops]
        self.tests = _host_tests(name)
        self.baseline = self.signature()

    def signature(self) -> dict:
        """Per case: what the first rejecting rank answers (status, phase and the source rule that decided), or
        rank 0's acceptance (whether it launches, whether a strided x2 is read as contiguous) and, for MARN, the
        AddRmsNorm tiling mode of the shape (which picks the bf16 RMS source), at both vector-core counts."""
        from conformance.sim.cann.marn_host import addrmsnorm_mode
        sig = {}
        for cid, inv in self.items:
            verdicts = [self.host.check(inv.op, dict(t), dict(inv.attrs), inv.world_size) for t in inv.ranks]
            v = next((v for v in verdicts if v.status), verdicts[0])
            entry = (v.status, v.phase, v.rule, v.launched, v.x2_read_contiguous)
            res = inv.ranks[0].get("residual")
            if not v.status and res is not None and len(res.shape) >= 1 and res.shape[-1]:
                m = 1
                for d in res.shape[:-1]:
                    m *= d
                entry += tuple(addrmsnorm_mode(m, res.shape[-1], res.dtype, vector_cores=c) for c in (40, 48))
            sig[cid] = entry
        return sig

    def __call__(self) -> str | None:
        sig = self.signature()
        changed = [cid for cid in self.baseline if sig.get(cid) != self.baseline[cid]]
        if changed:
            first = changed[0]
            return f"{len(changed)} verdicts changed, e.g. {first}: {self.baseline[first]} -> {sig[first]}"
        if not self.tests:  # a host module no test file imports (a twin's wrapper): its verdicts are its test
            return None
        import pytest
        rc = pytest.main(["-q", "-x", "-p", "no:cacheprovider", "-p", "no:randomly", "--no-header", "-o",
                          "addopts=", *self.tests], plugins=[_Quiet()])
        return None if rc == 0 else f"{', '.join(self.tests)} fail (pytest rc {rc})"


class _Quiet:
    """Swallow pytest's terminal output (one line per mutant is enough)."""

    def pytest_configure(self, config):
        tr = config.pluginmanager.getplugin("terminalreporter")
        if tr is not None:
            config.pluginmanager.unregister(tr)


def equivalents() -> dict[tuple[str, int, str], str]:
    """(module, line, mutation) -> "equivalent" or "admitted" for each entry heading `### <module>.py:<line> -
    <mutation>` of the md file ("admitted": under its `## Admitted` section, a behaviour the documents allow)."""
    out = {}
    if EQUIVALENTS.exists():
        kind = "equivalent"
        for line in EQUIVALENTS.read_text().splitlines():
            if line.startswith("## "):
                kind = "admitted" if line.startswith("## Admitted") else "equivalent"
            m = re.match(r"^### .*?(\w+)\.py:(\d+) [-\u2014] `(.+?)`\s*$", line)
            if m:
                out[(m.group(1), int(m.group(2)), m.group(3))] = kind
    return out


def mutants_of(name: str):
    mod = importlib.import_module(MODULES[name][0])
    src = Path(mod.__file__).read_text()
    tree = ast.parse(src)
    return mod, tree, _sites(tree, _hook_sites(mod))


def key_of(name, site) -> str:
    return f"{name}:{site[3]}:{site[0]}:{site[1]}:{site[4]}"


def run(modules, minutes, resume, verbose=True):
    state = json.loads(STATE.read_text()) if (resume and STATE.exists()) else {"mutants": {}, "seconds": {}}
    deadline = time.monotonic() + minutes * 60
    signal.signal(signal.SIGALRM, _alarm)
    for name in modules:
        if time.monotonic() >= deadline:
            break
        mod, tree, sites = mutants_of(name)
        todo = [s for s in sites if key_of(name, s) not in state["mutants"]]
        if not todo:
            continue
        t_setup = time.monotonic()
        test = HostTest(name) if MODULES[name][1] == "host" else ContractTest(process_mode=name.endswith("numerics"))
        clean = test()
        if clean is not None:
            raise SystemExit(f"{name}: the unmutated simulator fails its own test: {clean}")
        t0 = time.monotonic()
        state["seconds"][name] = state["seconds"].get(name, 0.0) + (t0 - t_setup)
        for site in todo:
            if time.monotonic() >= deadline:
                break
            t1 = time.monotonic()
            try:
                swap = Swap(mod, _apply(tree, site))
            except Exception as exc:  # does not compile or load: counts as killed (it would fail at import)
                verdict, why = "killed", f"does not load: {type(exc).__name__}: {exc}"
            else:
                signal.alarm(MUTANT_TIMEOUT_S)
                try:
                    why = test()
                    verdict = "survived" if why is None else "killed"
                except _Timeout:
                    verdict, why = "killed", f"timeout ({MUTANT_TIMEOUT_S} s)"
                except BaseException as exc:  # noqa: BLE001 - a crash of the test run is a kill
                    verdict, why = "killed", f"raised {type(exc).__name__}: {str(exc)[:120]}"
                finally:
                    signal.alarm(0)
                    swap.undo()
            dt = time.monotonic() - t1
            state["mutants"][key_of(name, site)] = {
                "module": name, "file": str(Path(mod.__file__).relative_to(ROOT)), "line": site[3],
                "operator": site[1], "mutation": site[4], "verdict": verdict, "why": why, "seconds": round(dt, 3)}
            state["seconds"][name] = state["seconds"].get(name, 0.0) + dt
            if verbose:
                print(f"{name}:{site[3]} {site[4]!r}: {verdict} ({dt:.1f}s) {why or ''}", flush=True)
            STATE.write_text(json.dumps(state, indent=1))
    STATE.write_text(json.dumps(state, indent=1))
    return state


def results(state, modules=tuple(MODULES)) -> dict:
    eq = equivalents()
    out = {"tool": "bench/mutation.py AST mutator (see its docstring)", "modules": {}, "survivors": []}
    for name in modules:
        _, _, sites = mutants_of(name)
        recs = [state["mutants"].get(key_of(name, s)) for s in sites]
        done = [r for r in recs if r]
        killed = sum(r["verdict"] == "killed" for r in done)
        surv = [r for r in done if r["verdict"] == "survived"]
        equiv = [r for r in surv if (name, r["line"], r["mutation"]) in eq]
        admitted = [r for r in equiv if eq[(name, r["line"], r["mutation"])] == "admitted"]
        live = [r for r in surv if r not in equiv]
        scored = killed + len(live)
        out["modules"][name] = {
            "mutants": len(sites), "run": len(done), "killed": killed, "survived": len(surv),
            "equivalent": len(equiv) - len(admitted), "admitted": len(admitted),
            "score": round(killed / scored, 4) if scored else None,
            "score_incl_equivalents": round(killed / len(done), 4) if done else None,
            "seconds": round(state["seconds"].get(name, 0.0), 1)}
        for r in surv:
            out["survivors"].append({"where": f"{r['file']}:{r['line']}", "mutation": r["mutation"],
                                     "operator": r["operator"], "equivalent": r in equiv,
                                     "kind": eq.get((name, r["line"], r["mutation"]), "live")})
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=25.0, help="time box for this invocation")
    ap.add_argument("--module", action="append", choices=list(MODULES), help="only these (repeatable)")
    ap.add_argument("--resume", action="store_true", help="keep the results in bench/mutation_state.json")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--report", action="store_true", help="only rewrite bench/mutation_results.json from state")
    ap.add_argument("--rerun-survivors", action="store_true", help="forget survivors (after adding cases)")
    args = ap.parse_args(argv)
    modules = args.module or list(MODULES)
    if args.list:
        for name in modules:
            for s in mutants_of(name)[2]:
                print(f"{name}:{s[3]} {s[1]} {s[4]}")
        return
    state = json.loads(STATE.read_text()) if STATE.exists() else {"mutants": {}, "seconds": {}}
    if args.rerun_survivors:
        state["mutants"] = {k: v for k, v in state["mutants"].items()
                            if not (v["verdict"] == "survived" and v["module"] in modules)}
        STATE.write_text(json.dumps(state, indent=1))
        args.resume = True
    if not args.report:
        state = run(modules, args.minutes, args.resume)
    res = results(state)
    RESULTS.write_text(json.dumps(res, indent=1) + "\n")
    for name, m in res["modules"].items():
        print(f"{name}: {m['killed']}/{m['run']} killed of {m['mutants']} ({m['equivalent']} equivalent, "
              f"{m['admitted']} admitted), "
              f"score {m['score']}, {m['seconds']} s")
    for s in res["survivors"]:
        print(f"  survivor {s['where']} {s['mutation']} ({s['kind']})")


if __name__ == "__main__":
    main()
