"""Checks before any weights load: the model exists, has a causal LM head, takes the sequence length.

Each failure is a `ConfigError` naming the config field, so `xinstruct train` exits 2 in seconds
instead of failing minutes later inside transformers.
"""

from __future__ import annotations

from pathlib import Path

from xinstruct.config import TrainConfig
from xinstruct.errors import ConfigError


def check_model(base_model: str, cfg: TrainConfig):
    """Return the model's `PretrainedConfig` after checking it can be trained as asked."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(base_model, trust_remote_code=cfg.trust_remote_code)
    except Exception as e:  # missing dir, unknown hub id, no network, remote code refused: one message
        hint = "" if Path(base_model).exists() else " (not a local directory; as a hub id it could not be loaded)"
        raise ConfigError(f"field model: cannot load {base_model!r}{hint}: {str(e).splitlines()[0]}") from None
    remote_causal = "AutoModelForCausalLM" in (getattr(config, "auto_map", None) or {})
    architectures = getattr(config, "architectures", None) or []
    saved_without_head = architectures and not any("CausalLM" in a or "LMHead" in a for a in architectures)
    if (config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and not remote_causal) or saved_without_head:
        raise ConfigError(
            f"field model: {base_model!r} is a {config.model_type!r} model without a causal LM head "
            f"(architectures: {architectures or 'none'}); use a decoder model such as Llama, Mistral, Qwen or Gemma"
        )
    limit = next(
        (getattr(config, k) for k in ("max_position_embeddings", "n_positions", "seq_length") if hasattr(config, k)),
        None,
    )
    if isinstance(limit, int) and cfg.max_length > limit:
        raise ConfigError(
            f"field train.max_length: {cfg.max_length} tokens, but {base_model!r} takes at most {limit} positions"
        )
    if cfg.method == "qlora":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("field train.method: qlora needs a CUDA GPU (4-bit bitsandbytes); use lora or full here")
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise ConfigError("field train.method: qlora needs bitsandbytes: pip install bitsandbytes") from None
    return config
