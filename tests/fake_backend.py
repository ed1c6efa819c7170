"""A third-party backend for the protocol tests: wraps the simulator but cannot run shape-only cases."""

from conformance.sim import SimulatorBackend


class ThirdPartyBackend:
    name = "third-party"

    def __init__(self):
        self._sim = SimulatorBackend()

    def describe(self):
        return {"backend": "third-party test double"}

    def unsupported_reason(self, inv):
        return "shape-only cases need GetWorkspaceSize, which this API does not expose" if inv.shape_only else None

    def invoke(self, inv):
        return self._sim.invoke(inv)


class BrokenBackend:
    name = "broken"

    def describe(self):
        return {}

    def unsupported_reason(self, inv):
        return None

    def invoke(self, inv):
        raise RuntimeError("device lost")


instance = ThirdPartyBackend()


class CrashingBackend(ThirdPartyBackend):
    """Kills its own process on one case, as a segfaulting vendor library would."""

    name = "crashing"

    def invoke(self, inv):
        if inv.case_id == "marn-exact-k16n48-fp16-w2":
            import os
            os._exit(139)
        return super().invoke(inv)
