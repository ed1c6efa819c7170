"""The `mc2-conformance` commands, one module each: its subparser (`register(sub)`) and its `cmd_*` function.
conformance.cli assembles them; common.py holds what several commands share."""
