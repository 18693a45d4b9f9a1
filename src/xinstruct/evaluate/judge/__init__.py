"""LLM judges of open-ended answers: a six-aspect rubric and a side-by-side comparison of two arms.

- `prompts/*.txt`: the judge prompts (str.format templates), overridable from the experiment file;
- `rubric.py`, `pairwise.py`: build the judge's request, parse and validate its strict-JSON answer;
- `backends.py`: a local HF model, or any OpenAI-compatible endpoint (vLLM, hosted APIs);
- `prompt_sets.py`: open-ended prompts (the lab's, a JSONL file, the HPLT test set);
- `run.py`: the judge step of an experiment, every judgement cached in SQLite (resumable).
"""
