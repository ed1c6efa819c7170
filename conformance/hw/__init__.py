"""The hardware path: device leasing across xdist workers (rank engine and NPU backends: to come)."""
