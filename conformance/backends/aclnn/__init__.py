"""The aclnn backend: the MC2 operators through their C API, called with ctypes.

libs.py finds and loads the CANN libraries; abi.py holds the C prototypes and enums; program.py is one rank
(a RankProgram of conformance/engine); backend.py is the Backend the suite selects with `--backend aclnn`.
Its marshalling is tested against a recording fake CANN (tests/fake_cann, tests/test_aclnn_marshalling.py).
"""
