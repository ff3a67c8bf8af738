#!/usr/bin/env python3
"""Builds the tiny random-weight Hugging Face checkpoints in fixtures/hf/ and records
transformers' float32 logits for a fixed 60-token prompt.

Developer tool, not run by CI:
    pip install torch transformers safetensors
    python3 scripts/reference/hf_fixtures.py fixtures/hf [path/to/stories260K-hf]

Every weight is randomised (norm weights too, around 1), and each config is sized so that every
feature of its architecture fires on the prompt: grouped-query attention everywhere; Llama 3
RoPE scaling with a short original context; tied embeddings (llama, qwen3); Mixtral top-2 of 4
experts; Qwen3 q/k norms with head_dim != hidden/heads; Qwen3-MoE softmax top-2 without
renormalisation and a dense layer; Llama 4 with 8 layers (NoPE layers 3 and 7, MoE/dense
interleave), chunked attention in chunks of 16, temperature tuning with floor 8, QK-norm and
Scout-style Llama 3 scaling (16/1/1).

Weights are stored as float32 (llama), float16 (qwen3) or bfloat16 (the others), so every
loader path is exercised; the reference logits are computed in float32 from exactly the stored
values.

Each folder gets config.json, generation_config.json, model.safetensors, the stories260K
tokenizer (512 tokens, MIT), reference.json (prompt ids, shapes, versions) and logits.f32
(little-endian float32, [positions, vocab_size], transformers in float32 with eager attention).
"""
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import transformers

VOCAB = 512
STORAGE = {"llama": torch.float32, "qwen3": torch.float16}  # others: bfloat16
PROMPT_LEN = 60
SEED = 1234


def configs():
    from transformers import (LlamaConfig, Llama4TextConfig, MixtralConfig, Qwen3Config,
                              Qwen3MoeConfig)
    common = dict(vocab_size=VOCAB, hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
                  max_position_embeddings=256, bos_token_id=1, eos_token_id=2, pad_token_id=None)
    return {
        "llama": (transformers.LlamaForCausalLM, LlamaConfig(
            **common, intermediate_size=128, num_hidden_layers=3, head_dim=16, rms_norm_eps=1e-5,
            rope_theta=500000.0, tie_word_embeddings=True,
            rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                          "high_freq_factor": 4.0, "original_max_position_embeddings": 32})),
        "mixtral": (transformers.MixtralForCausalLM, MixtralConfig(
            **common, intermediate_size=96, num_hidden_layers=2, num_local_experts=4,
            num_experts_per_tok=2, sliding_window=None, rope_theta=10000.0, rms_norm_eps=1e-5,
            tie_word_embeddings=False, router_jitter_noise=0.0)),
        "qwen3": (transformers.Qwen3ForCausalLM, Qwen3Config(
            **common, intermediate_size=128, num_hidden_layers=2, head_dim=32, rms_norm_eps=1e-6,
            rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False)),
        "qwen3moe": (transformers.Qwen3MoeForCausalLM, Qwen3MoeConfig(
            **common, intermediate_size=128, moe_intermediate_size=48, num_hidden_layers=3,
            head_dim=16, num_experts=8, num_experts_per_tok=2, norm_topk_prob=False,
            decoder_sparse_step=1, mlp_only_layers=[1], rms_norm_eps=1e-6, rope_theta=1000000.0,
            tie_word_embeddings=False, use_sliding_window=False)),
        "llama4": (transformers.Llama4ForCausalLM, Llama4TextConfig(
            **common, intermediate_size=48, intermediate_size_mlp=96, num_hidden_layers=8,
            head_dim=16, num_local_experts=4, num_experts_per_tok=1, interleave_moe_layer_step=2,
            no_rope_layer_interval=4, attention_chunk_size=16, use_qk_norm=True,
            attn_temperature_tuning=True, floor_scale=8, attn_scale=0.1, rms_norm_eps=1e-5,
            rope_theta=500000.0, tie_word_embeddings=False,
            rope_scaling={"rope_type": "llama3", "factor": 16.0, "low_freq_factor": 1.0,
                          "high_freq_factor": 1.0, "original_max_position_embeddings": 32})),
    }


def randomise(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(1.0 + 0.3 * torch.randn(p.shape, generator=gen))
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=gen))
            else:
                # nn.Linear is [out, in]; Llama 4's fused experts are input-major [E, in, out].
                fan_in = p.shape[1] if ("experts" in name and p.dim() == 3 and
                                        "llama4" in type(model).__name__.lower()) else p.shape[-1]
                scale = 3.0 if ("router" in name or name.endswith("gate.weight")) else 1.0
                p.copy_(torch.randn(p.shape, generator=gen) * scale / math.sqrt(fan_in))


def main():
    out_root = Path(sys.argv[1])
    tok_dir = Path(sys.argv[2] if len(sys.argv) > 2 else "../shared/models/stories260K-hf")
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    ids = [1] + rng.integers(3, VOCAB, PROMPT_LEN - 1).tolist()
    for arch, (cls, config) in configs().items():
        gen = torch.Generator().manual_seed(SEED + len(arch))
        config._attn_implementation = "eager"
        model = cls(config).eval().to(torch.float32)
        randomise(model, gen)
        storage = STORAGE.get(arch, torch.bfloat16)
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(storage).to(torch.float32))
        folder = out_root / arch
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(tok_dir / f, folder / f)
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].to(torch.float32).numpy()
        model.to(storage).save_pretrained(folder, safe_serialization=True)
        logits.astype("<f4").tofile(folder / "logits.f32")
        (folder / "reference.json").write_text(json.dumps({
            "source": f"transformers {transformers.__version__}, torch {torch.__version__}, "
                      f"float32 compute, eager attention, {cls.__name__}, weights stored as {storage}",
            "ids": ids,
            "logits_file": "logits.f32",
            "logits_shape": list(logits.shape),
        }, indent=1) + "\n")
        n = sum(p.numel() for p in model.parameters())
        print(f"{arch}: {n} parameters, logits {logits.shape}, "
              f"max |logit| {np.abs(logits).max():.2f}")


if __name__ == "__main__":
    main()
