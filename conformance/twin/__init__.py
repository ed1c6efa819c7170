"""A CPU twin of a CANN node: fake CANN libraries, a generated install tree, runtime and HCCL over host and shared
memory, with the operators executed by the suite's device model (sim-cann). See values.py for the interface."""
