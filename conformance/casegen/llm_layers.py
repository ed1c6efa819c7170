"""The row-parallel layers public large language models run, as shapes: data only, no operator.

Under Megatron-style tensor parallelism (TP = the world size) two linear layers per transformer block are
row-parallel: each rank holds k / TP of the input features, multiplies its share, and the partial products are
all-reduced, which is exactly what the MC2 operators fuse (the all-reduce, then the residual add and RMSNorm or
the dequantisation). Those layers are
- the attention out-projection: k = the attention width (heads x value head dim; the hidden size in Llama and
  Qwen), n = the hidden size;
- the MLP down-projection: k = the MLP's intermediate size, n = the hidden size.
Rows: decode (one token per sequence: m = the batch, 1 to 256) and prefill (m = batch x sequence, into the tens of
thousands). Every configuration cites the public source its sizes come from (Hugging Face config.json or the paper).

Each operator's case module (casegen/<op>_layers.py) turns `layer_shapes()` into cases with its own builders.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Shape

HF = "https://huggingface.co"


@dataclass(frozen=True)
class ModelConfig:
    """One public model's sizes (the fields of its config.json, or the paper's table)."""

    name: str
    hidden: int  # hidden_size (d_model)
    intermediate: int  # intermediate_size (d_ff) of the dense MLP; 0: the model has no dense MLP we test
    attention_width: int  # input features of the attention out-projection (num_attention_heads x v head dim)
    source: str
    note: str = ""


MODELS: tuple[ModelConfig, ...] = (
    ModelConfig("Llama-2-7B", 4096, 11008, 4096, f"{HF}/meta-llama/Llama-2-7b-hf/blob/main/config.json"),
    ModelConfig("Llama-2-13B", 5120, 13824, 5120, f"{HF}/meta-llama/Llama-2-13b-hf/blob/main/config.json"),
    ModelConfig("Llama-2-70B", 8192, 28672, 8192, f"{HF}/meta-llama/Llama-2-70b-hf/blob/main/config.json"),
    ModelConfig("Llama-3-8B", 4096, 14336, 4096, f"{HF}/meta-llama/Meta-Llama-3-8B/blob/main/config.json"),
    ModelConfig("Llama-3-70B", 8192, 28672, 8192, f"{HF}/meta-llama/Meta-Llama-3-70B/blob/main/config.json"),
    ModelConfig("Llama-3.1-405B", 16384, 53248, 16384, f"{HF}/meta-llama/Llama-3.1-405B/blob/main/config.json"),
    ModelConfig("Qwen2-72B", 8192, 29568, 8192, f"{HF}/Qwen/Qwen2-72B/blob/main/config.json"),
    # a mixture of experts: its attention is dense (the expert MLPs are expert-parallel, not this fused pattern)
    ModelConfig("Mixtral-8x7B", 4096, 0, 4096, f"{HF}/mistralai/Mixtral-8x7B-v0.1/blob/main/config.json",
                note="attention only: the MLPs are experts"),
    # MLA: o_proj reads num_attention_heads (128) x v_head_dim (128) = 16384 features; the first
    # first_k_dense_replace (3) blocks have a dense MLP of intermediate_size
    ModelConfig("DeepSeek-V3", 7168, 18432, 128 * 128, f"{HF}/deepseek-ai/DeepSeek-V3/blob/main/config.json",
                note="dense MLP in the first 3 blocks; attention width 128 heads x v_head_dim 128"),
    # Brown et al. 2020, "Language Models are Few-Shot Learners", arXiv:2005.14165, Table 2.1 (d_model 12288)
    # and section 2.1 (d_ff = 4 d_model)
    ModelConfig("GPT-3-175B", 12288, 4 * 12288, 12288, "https://arxiv.org/abs/2005.14165 (Table 2.1, section 2.1)"),
)

TP_SIZES = (2, 4, 8)  # tensor-parallel degree = the operators' world size


@dataclass(frozen=True)
class Rows:
    """The m = b * s rows one call multiplies: decode (s = 1, b sequences) or prefill (b sequences of s)."""

    phase: str  # "decode" | "prefill"
    b: int
    s: int

    @property
    def m(self) -> int:
        return self.b * self.s


DECODE_ROWS = (Rows("decode", 1, 1), Rows("decode", 256, 1))
PREFILL_ROWS = (Rows("prefill", 1, 8192), Rows("prefill", 4, 8192))
# batch 16 of 8K sequences at TP 8: with n = 16384, m * n = 2^31 elements, one past INT32_MAX
LONG_PREFILL = Rows("prefill", 16, 8192)


@dataclass(frozen=True)
class Layer:
    """One row-parallel layer (k_total input features, n outputs) and the models that have it."""

    role: str  # "attn_out" | "mlp_down"
    k_total: int
    n: int
    models: tuple[str, ...]

    def k(self, tp: int) -> int:
        """One rank's share of k (every k_total here divides by 8)."""
        if self.k_total % tp:
            raise ValueError(f"{self.role} k={self.k_total} does not split over TP {tp}")
        return self.k_total // tp


def layers(models: tuple[ModelConfig, ...] = MODELS) -> tuple[Layer, ...]:
    """The distinct row-parallel layers of `models`, in table order; models that share a layer are listed on it."""
    found: dict[tuple[str, int, int], list[str]] = {}
    for cfg in models:
        found.setdefault(("attn_out", cfg.attention_width, cfg.hidden), []).append(cfg.name)
        if cfg.intermediate:
            found.setdefault(("mlp_down", cfg.intermediate, cfg.hidden), []).append(cfg.name)
    return tuple(Layer(role, k, n, tuple(names)) for (role, k, n), names in found.items())


@dataclass(frozen=True)
class LayerShape:
    """One layer at one TP degree and one row count: the shape one rank's call sees."""

    layer: Layer
    tp: int
    rows: Rows

    @property
    def shape(self) -> Shape:
        return Shape(self.name, self.rows.b, self.rows.s, self.layer.k(self.tp), self.layer.n)

    @property
    def name(self) -> str:
        """e.g. "llm-mlp_down-k1376n4096-decode-b256s1" (the world size goes into the case id)."""
        r = self.rows
        return f"llm-{self.layer.role}-k{self.layer.k(self.tp)}n{self.layer.n}-{r.phase}-b{r.b}s{r.s}"

    @property
    def params(self) -> tuple[tuple[str, object], ...]:
        """Descriptive params for reports: which models, which layer, which TP and phase."""
        return (("llm_models", ", ".join(self.layer.models)), ("llm_layer", self.layer.role),
                ("tp", self.tp), ("phase", self.rows.phase), ("k_total", self.layer.k_total))


def layer_shapes(models: tuple[ModelConfig, ...] = MODELS) -> list[LayerShape]:
    """Every layer at TP 2/4/8 with the decode and prefill rows, and the long prefill at TP 8."""
    out = []
    for layer in layers(models):
        for tp in TP_SIZES:
            for rows in DECODE_ROWS + PREFILL_ROWS + ((LONG_PREFILL,) if tp == 8 else ()):
                out.append(LayerShape(layer, tp, rows))
    return out


def source_of(model: str) -> str:
    """The cited source of a model's sizes."""
    for cfg in MODELS:
        if cfg.name == model:
            return cfg.source
    raise KeyError(f"unknown model {model!r}; known: {', '.join(c.name for c in MODELS)}")
