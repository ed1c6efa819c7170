"""The host checks as GetWorkspaceSize performs them, from the documents: one module per operator, one rule per
constraint id. Shared by the simulator (conformance.sim) and the independent torch-cpu backend, so neither
imports the other; an operator's record points to its validator (`Operator.validate`). `common.py` holds the
conventions they share and the rules the family's documents state alike (world size, communication attributes)."""
