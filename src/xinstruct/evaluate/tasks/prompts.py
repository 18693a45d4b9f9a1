"""Task instructions in English or in the evaluation language (`eval.prompt_language: en | native`).

Whether a model is asked in English or in the language it is evaluated in is itself a research
variable (English-only tuning transfers differently to native prompts). With `en` every language
gets the same English instruction; with `native` the instruction and its labels are written in the
evaluation language. Sources: the QA instructions were written for xinstruct (the English one is
the instruction xquad and mlqa have always used); MGSM's follow lm-evaluation-harness's
`mgsm_direct_<lang>` (English "Question:"/"Answer:" for `en` mode, as `mgsm_direct_en`);
translation requests come from the recipes' phrasebooks (`xinstruct.recipes.phrases`).
"""

from __future__ import annotations

from xinstruct.errors import DataError

PROMPT_LANGUAGES = ("en", "native")

# (instruction, passage label, question label, separator after a label)
QA: dict[str, tuple[str, str, str, str]] = {
    "en": (
        "Read the passage and answer the question with a short span copied from the passage.",
        "Passage",
        "Question",
        ": ",
    ),
    "ar": ("اقرأ النص وأجب عن السؤال بمقطع قصير منقول من النص.", "النص", "السؤال", ": "),
    "de": (
        "Lies den Text und beantworte die Frage mit einem kurzen Ausschnitt, der wörtlich aus dem Text stammt.",
        "Text",
        "Frage",
        ": ",
    ),
    "el": (
        "Διάβασε το κείμενο και απάντησε στην ερώτηση με ένα σύντομο απόσπασμα αντιγραμμένο από το κείμενο.",
        "Κείμενο",
        "Ερώτηση",
        ": ",
    ),
    "es": (
        "Lee el pasaje y responde a la pregunta con un fragmento breve copiado del pasaje.",
        "Pasaje",
        "Pregunta",
        ": ",
    ),
    "hi": ("अनुच्छेद पढ़ें और अनुच्छेद से लिए गए एक छोटे अंश से प्रश्न का उत्तर दें।", "अनुच्छेद", "प्रश्न", ": "),
    "ro": (
        "Citește pasajul și răspunde la întrebare cu un fragment scurt copiat din pasaj.",
        "Pasaj",
        "Întrebare",
        ": ",
    ),
    "ru": (
        "Прочитайте текст и ответьте на вопрос коротким фрагментом, скопированным из текста.",
        "Текст",
        "Вопрос",
        ": ",
    ),
    "th": ("อ่านข้อความแล้วตอบคำถามด้วยข้อความสั้น ๆ ที่คัดลอกมาจากข้อความนั้น", "ข้อความ", "คำถาม", ": "),
    "tr": ("Metni oku ve soruyu metinden aynen alınmış kısa bir bölümle yanıtla.", "Metin", "Soru", ": "),
    "vi": (
        "Đọc đoạn văn và trả lời câu hỏi bằng một cụm từ ngắn trích từ đoạn văn.",
        "Đoạn văn",
        "Câu hỏi",
        ": ",
    ),
    "zh": ("阅读短文，用从短文中摘录的简短片段回答问题。", "短文", "问题", "："),
}

# lm-evaluation-harness mgsm_direct_<lang>: (question label, answer label) for the test split
MGSM: dict[str, tuple[str, str]] = {
    "en": ("Question: ", "Answer:"),
    "bn": ("প্রশ্ন: ", "Answer:"),
    "de": ("Frage: ", "Antwort:"),
    "es": ("Pregunta: ", "Respuesta:"),
    "fr": ("Question : ", "Réponse :"),
    "ja": ("問題： ", "Answer:"),
    "ru": ("Задача: ", "Answer:"),
    "sw": ("Swali: ", "Answer:"),
    "te": ("ప్రశ్న: ", "Answer:"),
    "th": ("โจทย์: ", "Answer:"),
    "zh": ("问题： ", "Answer:"),
}


def prompt_language(mode: str, lang: str, table: dict, task: str) -> str:
    """The language whose template a task uses: English, or `lang` itself (which must have one)."""
    if mode not in PROMPT_LANGUAGES:
        raise DataError(f"prompt_language must be one of {list(PROMPT_LANGUAGES)}, not {mode!r}")
    if mode == "en":
        return "en"
    base = lang.split("-")[0]
    if base not in table:
        raise DataError(
            f"task {task} has no native prompt for {lang!r} (it has {sorted(table)}); use prompt_language en"
        )
    return base


def qa_prompt(mode: str, lang: str, context: str, question: str, task: str) -> str:
    """Extractive QA: instruction, passage, question (xquad, mlqa)."""
    instruction, passage, asked, sep = QA[prompt_language(mode, lang, QA, task)]
    return f"{instruction}\n\n{passage}{sep}{context}\n\n{asked}{sep}{question}"


def mgsm_prompt(mode: str, lang: str, question: str) -> str:
    """MGSM direct: "Question: {q}\\nAnswer:" in English, or lm-eval's native labels."""
    asked, answer = MGSM[prompt_language(mode, lang, MGSM, "mgsm")]
    return f"{asked}{question}\n{answer}"


def translation_request(mode: str, target: str) -> str:
    """ "Translate into <target>", phrased in English or in the target language itself."""
    from xinstruct.recipes.phrases import TRANSLATE, phrasings

    return phrasings(TRANSLATE, prompt_language(mode, target, TRANSLATE, "ntrex"), target)[0]
