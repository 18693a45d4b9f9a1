"""belebele: reading comprehension in 122 language variants (Belebele, Bandarkar et al. 2024), multiple choice.

lm-evaluation-harness's `belebele_<code>` (SPEC-metrics.md §4), zero-shot: the context is
"P: {flores_passage}\nQ: {question.strip()}\nA: {mc_answer1}\nB: {mc_answer2}\nC: {mc_answer3}\n"
"D: {mc_answer4}\nAnswer:", the choices are "A".."D" (each scored as " A" and so on), the gold is
correct_answer_num - 1. Metrics: acc and acc_norm. English prompt words in every language.

Languages are BCP-47 tags (de, zh, zh-Hant, ar-Latn, ...), mapped to Belebele's FLORES-200 codes
(deu_Latn, zho_Hans, zho_Hant, arb_Latn, ...) by `xinstruct.languages.flores_code`.

Data, the official release (one JSON-lines file per language variant, as on the hub):
    <data root>/belebele/<code>.jsonl      e.g. belebele/deu_Latn.jsonl
fields link, question_number, flores_passage, question, mc_answer1..mc_answer4, correct_answer_num
("1".."4"); or, with `hub` set (e.g. Belebele(hub="facebook/belebele")),
`datasets.load_dataset(hub, code, split="test")`, same fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from xinstruct.errors import DataError
from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, limited, require
from xinstruct.languages import flores_code  # Belebele's codes are FLORES-200's, as for NLLB

VERSION = 1
TEMPLATE = (
    "P: {flores_passage}\nQ: {question}\nA: {mc_answer1}\nB: {mc_answer2}\nC: {mc_answer3}\nD: {mc_answer4}\nAnswer:"
)
# Belebele's 122 language variants (lm-eval's belebele group) ...
CODES = frozenset(
    """
    acm_Arab afr_Latn als_Latn amh_Ethi apc_Arab arb_Arab arb_Latn ars_Arab ary_Arab arz_Arab asm_Beng azj_Latn
    bam_Latn ben_Beng ben_Latn bod_Tibt bul_Cyrl cat_Latn ceb_Latn ces_Latn ckb_Arab dan_Latn deu_Latn ell_Grek
    eng_Latn est_Latn eus_Latn fin_Latn fra_Latn fuv_Latn gaz_Latn grn_Latn guj_Gujr hat_Latn hau_Latn heb_Hebr
    hin_Deva hin_Latn hrv_Latn hun_Latn hye_Armn ibo_Latn ilo_Latn ind_Latn isl_Latn ita_Latn jav_Latn jpn_Jpan
    kac_Latn kan_Knda kat_Geor kaz_Cyrl kea_Latn khk_Cyrl khm_Khmr kin_Latn kir_Cyrl kor_Hang lao_Laoo lin_Latn
    lit_Latn lug_Latn luo_Latn lvs_Latn mal_Mlym mar_Deva mkd_Cyrl mlt_Latn mri_Latn mya_Mymr nld_Latn nob_Latn
    npi_Deva npi_Latn nso_Latn nya_Latn ory_Orya pan_Guru pbt_Arab pes_Arab plt_Latn pol_Latn por_Latn ron_Latn
    rus_Cyrl shn_Mymr sin_Latn sin_Sinh slk_Latn slv_Latn sna_Latn snd_Arab som_Latn sot_Latn spa_Latn srp_Cyrl
    ssw_Latn sun_Latn swe_Latn swh_Latn tam_Taml tel_Telu tgk_Cyrl tgl_Latn tha_Thai tir_Ethi tsn_Latn tso_Latn
    tur_Latn ukr_Cyrl urd_Arab urd_Latn uzn_Latn vie_Latn war_Latn wol_Latn xho_Latn yor_Latn zho_Hans zho_Hant
    zsm_Latn zul_Latn
    """.split()
)
# ... and the standard BCP-47 tags that `flores_code` maps onto them, one each
LANGUAGES = tuple(
    """
    acm-Arab af am apc ar ar-Latn ars ary arz as az bg bm bn bn-Latn bo ca ceb ckb cs da de el en es et eu fa fi
    fil fr fuv gn gu ha he hi hi-Latn hr ht hu hy id ig ilo is it ja jv ka kac kea kk km kn ko ky lg ln lo lt luo
    lv mg mi mk ml mn mr ms mt my ne ne-Latn nl no nso ny om or pa pl ps pt ro ru rw sd shn si si-Latn sk sl sn so
    sq sr ss st su sv sw ta te tg th ti tn tr ts uk ur ur-Latn uz vi war wo xh yo zh zh-Hant zu
    """.split()
)


@dataclass(frozen=True)
class Belebele:
    name: str = "belebele"
    version: int = VERSION
    kind: str = "multiple_choice"
    prompt_field: str = "context"  # the text the contamination check compares
    languages: tuple[str, ...] = LANGUAGES
    hub: str | None = None  # a hub dataset id (facebook/belebele) instead of the local files
    target_delimiter: str = " "

    metrics: tuple[str, ...] = ("acc", "acc_norm")

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        lang = check_language(self.name, lang, self.languages)
        code = flores_code(lang)  # FLORES-200, as for NLLB
        if code not in CODES:
            raise DataError(f"task {self.name}: language {lang!r} maps to {code!r}, which Belebele does not have")
        if self.hub:
            import datasets

            docs = list(datasets.load_dataset(self.hub, code, split="test"))
        else:
            path = require(data_root(ctx.data_dir) / "belebele" / f"{code}.jsonl", self.name)
            docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows = []
        for doc in docs:
            fields = {
                key: doc[key] for key in ("flores_passage", "mc_answer1", "mc_answer2", "mc_answer3", "mc_answer4")
            }
            answer = str(doc["correct_answer_num"])
            if answer not in ("1", "2", "3", "4"):
                raise DataError(f"task {self.name} {code}: correct_answer_num {doc['correct_answer_num']!r}")
            rows.append(
                {
                    "id": f"{doc['link']}#{doc['question_number']}",
                    "context": TEMPLATE.format(question=doc["question"].strip(), **fields),
                    "choices": ["A", "B", "C", "D"],
                    "gold": int(answer) - 1,
                }
            )
        return limited(rows, ctx)


belebele = Belebele()
