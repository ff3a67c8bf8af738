#!/usr/bin/env python3
"""Records Hugging Face transformers' float32 logits for stories260K on a fixed prompt.

Developer tool, not run by CI: `pip install torch transformers`, then
    python3 scripts/reference/stories260k_transformers_logits.py ../shared/models/stories260K-hf \
        fixtures/stories260K/transformers-logits.json
The output has the same shape as `behemoth logits --out`: {"ids": [...], "logits": [[...], ...]},
plus the prompt text and the versions used. Token ids come from the folder's tokenizer.json,
so the file checks our tokenizer as well as our forward pass.
"""
import json
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPT = (
    'Spot saw the shiny car and said, "Wow, Kitty, your car is so bright and clean!" '
    'Kitty smiled and replied, "Thank you, Spot. I polish it every day."'
)


def main() -> None:
    model_dir, out_path = sys.argv[1], sys.argv[2]
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
    model.eval()
    ids = tok(PROMPT)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
    record = {
        "source": f"transformers {transformers.__version__}, torch {torch.__version__}, float32, "
        f"LlamaForCausalLM from {model_dir.rstrip('/').split('/')[-1]}",
        "prompt": PROMPT,
        "ids": ids,
        "logits": [[round(float(v), 6) for v in row] for row in logits],
    }
    with open(out_path, "w") as f:
        json.dump(record, f, separators=(",", ":"))
    print(f"{len(ids)} positions written to {out_path}")


if __name__ == "__main__":
    main()
