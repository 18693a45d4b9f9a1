"""Evaluation metrics, bit-exact with the official scripts they reproduce (see SPEC-metrics.md).

- `squad_em_f1`, `squad_corpus`: SQuAD v1.1 / XQuAD exact match and F1.
- `mlqa_em_f1`, `mlqa_corpus`: MLQA (official Arabic rule by default, lm-eval's on request).
- `seaeval_accuracy`, `consistency_k`, `ac3`, `seaeval_scores`: SeaEval cross-lingual consistency.
- `mc_metrics`: lm-eval multiple-choice acc / acc_norm / acc_bytes from per-choice log-likelihoods.
- `mgsm_extract`, `mgsm_exact_match`: lm-eval MGSM answer filters and exact match.
- `chrf`, `bleu`: sacrebleu corpus scores with the per-language BLEU tokenizer and its signature.
- `language_confusion`, `language_confusion_table`: Language Confusion Benchmark LPR / WPR / acc (fastText LID).

Per-item values are 0-1; corpus QA scores are 0-100 like the scripts print them.
"""

from xinstruct.metrics.consistency import HEADLINE_K, ac3, consistency_k, seaeval_accuracy, seaeval_scores
from xinstruct.metrics.language_confusion import language_confusion, language_confusion_table
from xinstruct.metrics.mgsm import mgsm_exact_match, mgsm_extract
from xinstruct.metrics.multiple_choice import mc_metrics
from xinstruct.metrics.qa import (
    MLQA_LANGUAGES,
    mlqa_corpus,
    mlqa_em_f1,
    mlqa_normalize,
    squad_corpus,
    squad_em_f1,
    squad_normalize,
)
from xinstruct.metrics.translation import bleu, bleu_tokenizer, chrf

__all__ = [
    "HEADLINE_K",
    "MLQA_LANGUAGES",
    "ac3",
    "bleu",
    "bleu_tokenizer",
    "chrf",
    "consistency_k",
    "language_confusion",
    "language_confusion_table",
    "mc_metrics",
    "mgsm_exact_match",
    "mgsm_extract",
    "mlqa_corpus",
    "mlqa_em_f1",
    "mlqa_normalize",
    "seaeval_accuracy",
    "seaeval_scores",
    "squad_corpus",
    "squad_em_f1",
    "squad_normalize",
]
