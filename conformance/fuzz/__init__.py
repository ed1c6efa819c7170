"""Property-based fuzzing of the operators' contract (hypothesis)."""
