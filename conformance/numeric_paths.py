"""The names of the simulator's modelling options and legal numeric paths, where the documents are silent.

Defined here, below both the simulator (which implements them) and the option table (which offers them), so that
the command line and the plugin can list the choices without importing the simulator. Each is a named choice with
its reason in the constraint listing (MARN-AMB-003, MARN-AMB-007, V3-AMB-007); the first of each is the default.
"""

# how HCCL sums fp16/bf16 partials (MARN-AMB-003, UNCONFIRMED in device-facts 3): in fp32 and stored once, or
# sequentially in the output dtype
ALLREDUCE_ACCUMULATIONS = ("float32", "output_dtype")
# which bf16 value feeds MARN's RMSNorm (MARN-AMB-007; the kernel picks one per shape, device-facts 3)
RMS_SOURCES = ("fp32_sum", "rounded_y", "split_d")
# V3's x3 added after the product was stored in the output dtype (the kernels) or before the one store (V3-AMB-007)
X3_ROUNDINGS = ("after_store", "fused")
