"""Reference for `behemoth eval perplexity --method rolling`: lm-evaluation-harness's HF backend
`loglikelihood_rolling` on a whole text file as one document, with the wikitext task's
word/byte perplexity and bits-per-byte definitions.

    python3 scripts/reference/lm_eval_rolling.py ../shared/models/stories260K-hf \
        fixtures/eval/tinystories_head.txt 512
"""

import math
import re
import sys

from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM

model_dir, path, max_length = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(path, encoding="utf-8").read()
lm = HFLM(pretrained=model_dir, dtype="float32", device="cpu", max_length=max_length, batch_size=8)
req = Instance(request_type="loglikelihood_rolling", doc={}, arguments=(text,), idx=0)
(ll,) = lm.loglikelihood_rolling([req])
tokens = len(lm.tok_encode(text))
words = len(re.split(r"\s+", text))
nbytes = len(text.encode("utf-8"))
print(f"lm_eval={__import__('lm_eval').__version__} max_length={max_length} loglikelihood={ll!r}")
print(f"tokens={tokens} token_perplexity={math.exp(-ll / tokens)!r}")
print(f"words={words} word_perplexity={math.exp(-ll / words)!r}")
print(f"bytes={nbytes} byte_perplexity={math.exp(-ll / nbytes)!r} bits_per_byte={-ll / nbytes / math.log(2)!r}")
