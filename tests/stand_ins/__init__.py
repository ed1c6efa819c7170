"""Recording stand-ins for device bindings: they log every call and compute plausible results on the CPU."""
