"""fp32 references of the documented formulas (BLAS only; never Python loops over elements)."""
