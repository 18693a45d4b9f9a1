"""Natural phrasings of "translate this" and "answer in language L", in many languages.

Recipes that build translation demonstrations (CrossAlpaca) or cross-lingual pairs (CrossIn)
phrase their request in English or in another language. Each phrasing has a `{lang}` slot
filled with the language's name *in the phrasing's language* (`xinstruct.languages.display_name`),
and the sentences are written so that slot needs no inflection ("auf {lang}", "al {lang}").
For a language not listed here, the English phrasings are run through the experiment's
translator (cached like any other translation); a recipe may also pass its own phrasings.
"""

from __future__ import annotations

from xinstruct.languages import display_name, language_subtag

TRANSLATE: dict[str, tuple[str, ...]] = {
    "en": (
        "Translate the following text into {lang}.",
        "What is the {lang} translation of this text?",
        "Please render the following in {lang}.",
        "Translate this into {lang}:",
    ),
    "de": ("Übersetze den folgenden Text auf {lang}.", "Wie lautet dieser Text auf {lang}?"),
    "es": ("Traduce el siguiente texto al {lang}.", "¿Cómo se dice este texto en {lang}?"),
    "fr": ("Traduis le texte suivant en {lang}.", "Comment dit-on ce texte en {lang} ?"),
    "it": ("Traduci il seguente testo in {lang}.", "Come si dice questo testo in {lang}?"),
    "pt": ("Traduza o seguinte texto para o {lang}.", "Como se diz este texto em {lang}?"),
    "ru": ("Переведи следующий текст на {lang} язык.", "Как этот текст звучит на языке: {lang}?"),
    "zh": ("请将以下文本翻译成{lang}。", "这段文字用{lang}怎么说？"),
    "ja": ("次の文章を{lang}に翻訳してください。", "この文章を{lang}で言うと？"),
    "ko": ("다음 문장을 {lang}로 번역하세요.", "이 글을 {lang}로 옮겨 주세요."),
    "vi": ("Dịch đoạn văn sau sang {lang}.", "Hãy chuyển đoạn sau sang {lang}."),
    "ar": ("ترجم النص التالي إلى {lang}.", "ما ترجمة هذا النص إلى {lang}؟"),
    "hi": ("निम्नलिखित पाठ का {lang} में अनुवाद करें।", "इस पाठ को {lang} में लिखिए।"),
    "tr": ("Aşağıdaki metni çevir. Hedef dil: {lang}.", "Bu metni şu dile çevir: {lang}."),
    "th": ("แปลข้อความต่อไปนี้เป็นภาษา{lang}", "ช่วยแปลข้อความนี้เป็นภาษา{lang}"),
    "el": ("Μετάφρασε το παρακάτω κείμενο στα {lang}.", "Πώς λέγεται αυτό το κείμενο στα {lang};"),
    "id": ("Terjemahkan teks berikut ke dalam bahasa {lang}.", "Apa terjemahan teks ini dalam bahasa {lang}?"),
}

RESPOND: dict[str, tuple[str, ...]] = {
    "en": ("Please answer in {lang}.", "Respond in {lang}.", "Write your answer in {lang}."),
    "de": ("Bitte antworte auf {lang}.", "Antworte auf {lang}."),
    "es": ("Responde en {lang}.", "Por favor, contesta en {lang}."),
    "fr": ("Réponds en {lang}.", "Merci de répondre en {lang}."),
    "it": ("Rispondi in {lang}.", "Per favore, rispondi in {lang}."),
    "pt": ("Responda em {lang}.", "Por favor, responda em {lang}."),
    "ru": ("Ответь на языке: {lang}.", "Пожалуйста, отвечай на языке: {lang}."),
    "zh": ("请用{lang}回答。", "请使用{lang}作答。"),
    "ja": ("{lang}で答えてください。", "回答は{lang}でお願いします。"),
    "ko": ("{lang}로 답하세요.", "{lang}로 대답해 주세요."),
    "vi": ("Hãy trả lời bằng {lang}.", "Vui lòng trả lời bằng {lang}."),
    "ar": ("أجب باللغة {lang}.", "يرجى الإجابة باللغة {lang}."),
    "hi": ("कृपया {lang} में उत्तर दें।", "{lang} में जवाब दीजिए।"),
    "tr": ("Şu dilde cevap ver: {lang}.", "Lütfen şu dilde yanıtla: {lang}."),
    "th": ("กรุณาตอบเป็นภาษา{lang}", "ตอบเป็นภาษา{lang}"),
    "el": ("Απάντησε στα {lang}.", "Παρακαλώ απάντησε στα {lang}."),
    "id": ("Jawablah dalam bahasa {lang}.", "Tolong jawab dalam bahasa {lang}."),
}


def base_language(tag: str) -> str:
    """`zh-CN` -> `zh`: phrasings and names are per language, not per region (`languages.language_subtag`)."""
    return language_subtag(tag)


def language_name(tag: str, in_language: str = "en") -> str:
    """The name of `tag` in `in_language` ("German", "Deutsch", "독일어"); the tag itself if unknown."""
    return display_name(tag, in_language)


def has_phrasings(table: dict[str, tuple[str, ...]], lang: str) -> bool:
    return base_language(lang) in table


def phrasings(table: dict[str, tuple[str, ...]], phrase_lang: str, about: str) -> list[str]:
    """The table's phrasings in `phrase_lang`, with `{lang}` filled by the name of `about`."""
    name = language_name(about, phrase_lang)
    return [p.format(lang=name) for p in table[base_language(phrase_lang)]]
