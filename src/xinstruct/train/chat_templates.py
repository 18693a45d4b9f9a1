"""Named chat templates for base models that ship without one (`train.chat_template`).

Both end every assistant turn with the tokenizer's EOS token, so a base model learns to stop;
the completion-only loss covers that token (TRL masks everything the prompt renders).
"""

from __future__ import annotations

ALPACA = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}\n\n"
    "{% elif message['role'] == 'user' %}### Instruction:\n{{ message['content'] }}\n\n"
    "{% elif message['role'] == 'assistant' %}### Response:\n{{ message['content'] }}{{ eos_token }}\n\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}### Response:\n{% endif %}"
)

CHATML = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

TEMPLATES = {"alpaca": ALPACA, "chatml": CHATML}


def resolve_chat_template(name: str) -> str:
    """A named template, or the string itself when it is a Jinja template."""
    if name in TEMPLATES:
        return TEMPLATES[name]
    if "{%" in name or "{{" in name:
        return name
    raise ValueError(f"unknown chat template {name!r}; named ones: {sorted(TEMPLATES)}, or give a Jinja string")
