"""Helpers for the local lm-evaluation-harness task configs in this folder.

HellaSwag reuses lm-eval's own preprocessing; the other functions read the llm-foundry schema
of shared/datasets (query/choices/gold, context_options/continuation/gold) the way
crates/eval/src/tasks.rs does.
"""

from lm_eval.tasks.hellaswag.utils import process_docs as hellaswag_process_docs  # noqa: F401


def piqa_doc_to_text(doc):
    # llm-foundry's query is "Question: {goal}\n"; lm-eval's prompt is "Question: {goal}\nAnswer:".
    q = doc["query"]
    if q.endswith("\n"):
        q = q[:-1]
    return q + "\nAnswer:"


def winogrande_doc_to_text(doc):
    # Multiple inputs: the index of the right context (lm-eval's winogrande doc_to_text).
    return int(doc["gold"])


def winogrande_doc_to_choice(doc):
    return list(doc["context_options"])


def winogrande_doc_to_target(doc):
    return doc["continuation"]
