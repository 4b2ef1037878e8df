"""Languages: ISO 639-1 codes, their names, model-specific codes and few-shot examples.

Users name languages by ISO 639-1 code (``fr``); each backend maps that to what its
model expects: an English name in a prompt, ``__fr__`` (M2M100), ``fra_Latn`` (NLLB),
``fr_XX`` (mBART-50) or ``>>fra<<`` / ``>>fr<<`` (multi-target Marian).
"""

from __future__ import annotations

from llmcli.errors import UsageError

#: ISO 639-1 code → English name, for prompts and messages.
NAMES: dict[str, str] = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "ca": "Catalan",
    "cs": "Czech", "cy": "Welsh", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian",
    "fi": "Finnish", "fr": "French", "ga": "Irish", "gl": "Galician", "gu": "Gujarati",
    "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "hy": "Armenian",
    "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese", "ka": "Georgian",
    "kk": "Kazakh", "km": "Khmer", "kn": "Kannada", "ko": "Korean", "lt": "Lithuanian",
    "lv": "Latvian", "mk": "Macedonian", "ml": "Malayalam", "mn": "Mongolian", "mr": "Marathi",
    "ms": "Malay", "my": "Burmese", "ne": "Nepali", "nl": "Dutch", "no": "Norwegian",
    "pa": "Punjabi", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
    "si": "Sinhala", "sk": "Slovak", "sl": "Slovenian", "sq": "Albanian", "sr": "Serbian",
    "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "th": "Thai",
    "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek",
    "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip

#: ISO 639-1 → NLLB-200 (FLORES-200) code.
NLLB_CODES: dict[str, str] = {
    "af": "afr_Latn", "ar": "arb_Arab", "bg": "bul_Cyrl", "bn": "ben_Beng", "ca": "cat_Latn",
    "cs": "ces_Latn", "cy": "cym_Latn", "da": "dan_Latn", "de": "deu_Latn", "el": "ell_Grek",
    "en": "eng_Latn", "es": "spa_Latn", "et": "est_Latn", "eu": "eus_Latn", "fa": "pes_Arab",
    "fi": "fin_Latn", "fr": "fra_Latn", "ga": "gle_Latn", "gl": "glg_Latn", "gu": "guj_Gujr",
    "he": "heb_Hebr", "hi": "hin_Deva", "hr": "hrv_Latn", "hu": "hun_Latn", "hy": "hye_Armn",
    "id": "ind_Latn", "is": "isl_Latn", "it": "ita_Latn", "ja": "jpn_Jpan", "ka": "kat_Geor",
    "kk": "kaz_Cyrl", "km": "khm_Khmr", "kn": "kan_Knda", "ko": "kor_Hang", "lt": "lit_Latn",
    "lv": "lvs_Latn", "mk": "mkd_Cyrl", "ml": "mal_Mlym", "mn": "khk_Cyrl", "mr": "mar_Deva",
    "ms": "zsm_Latn", "my": "mya_Mymr", "ne": "npi_Deva", "nl": "nld_Latn", "no": "nob_Latn",
    "pa": "pan_Guru", "pl": "pol_Latn", "pt": "por_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl",
    "si": "sin_Sinh", "sk": "slk_Latn", "sl": "slv_Latn", "sq": "als_Latn", "sr": "srp_Cyrl",
    "sv": "swe_Latn", "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu", "th": "tha_Thai",
    "tl": "tgl_Latn", "tr": "tur_Latn", "uk": "ukr_Cyrl", "ur": "urd_Arab", "uz": "uzn_Latn",
    "vi": "vie_Latn", "zh": "zho_Hans",
}  # fmt: skip

#: ISO 639-1 → mBART-50 code, where the two differ only by region suffix.
MBART_REGIONS: dict[str, str] = {
    "ar": "ar_AR", "cs": "cs_CZ", "de": "de_DE", "en": "en_XX", "es": "es_XX", "et": "et_EE",
    "fi": "fi_FI", "fr": "fr_XX", "gu": "gu_IN", "hi": "hi_IN", "it": "it_IT", "ja": "ja_XX",
    "kk": "kk_KZ", "ko": "ko_KR", "lt": "lt_LT", "lv": "lv_LV", "my": "my_MM", "ne": "ne_NP",
    "nl": "nl_XX", "ro": "ro_RO", "ru": "ru_RU", "si": "si_LK", "tr": "tr_TR", "vi": "vi_VN",
    "zh": "zh_CN", "af": "af_ZA", "bn": "bn_IN", "fa": "fa_IR", "he": "he_IL", "hr": "hr_HR",
    "id": "id_ID", "ka": "ka_GE", "km": "km_KH", "mk": "mk_MK", "ml": "ml_IN", "mn": "mn_MN",
    "mr": "mr_IN", "pl": "pl_PL", "pt": "pt_XX", "sv": "sv_SE", "sw": "sw_KE", "ta": "ta_IN",
    "te": "te_IN", "th": "th_TH", "tl": "tl_XX", "uk": "uk_UA", "ur": "ur_PK", "gl": "gl_ES",
    "sl": "sl_SI",
}  # fmt: skip

#: ISO 639-1 → ISO 639-3, for multi-target Marian models (``>>fra<<``).
ISO3: dict[str, str] = {
    "ar": "ara", "bg": "bul", "ca": "cat", "cs": "ces", "da": "dan", "de": "deu",
    "el": "ell", "en": "eng", "es": "spa", "et": "est", "fi": "fin", "fr": "fra",
    "gl": "glg", "he": "heb", "hu": "hun", "it": "ita", "ja": "jpn", "ko": "kor",
    "lt": "lit", "lv": "lav", "nl": "nld", "no": "nob", "pl": "pol", "pt": "por",
    "ro": "ron", "ru": "rus", "sk": "slk", "sl": "slv", "sv": "swe", "tr": "tur",
    "uk": "ukr", "vi": "vie", "zh": "zho",
}  # fmt: skip

# Few-shot pairs for prompting causal models, the same sentences in every language so
# any source/target pair can be shown. Written for this project. The inline-code example
# teaches the model to copy backticked spans; the short title teaches headings.
_EXAMPLES: dict[str, tuple[str, ...]] = {
    "en": (
        "The weather is nice today.",
        "Where is the nearest train station?",
        "Run `make test` before you send your changes.",
        "Installation guide",
        "She has been reading this book for two weeks, and she likes it very much.",
    ),
    "fr": (
        "Il fait beau aujourd'hui.",
        "Où est la gare la plus proche ?",
        "Exécutez `make test` avant d'envoyer vos modifications.",
        "Guide d'installation",
        "Elle lit ce livre depuis deux semaines et elle l'aime beaucoup.",
    ),
    "es": (
        "Hoy hace buen tiempo.",
        "¿Dónde está la estación de tren más cercana?",
        "Ejecuta `make test` antes de enviar tus cambios.",
        "Guía de instalación",
        "Lleva dos semanas leyendo este libro y le gusta mucho.",
    ),
    "de": (
        "Das Wetter ist heute schön.",
        "Wo ist der nächste Bahnhof?",
        "Führen Sie `make test` aus, bevor Sie Ihre Änderungen senden.",
        "Installationsanleitung",
        "Sie liest dieses Buch seit zwei Wochen und es gefällt ihr sehr.",
    ),
    "it": (
        "Oggi il tempo è bello.",
        "Dov'è la stazione ferroviaria più vicina?",
        "Esegui `make test` prima di inviare le tue modifiche.",
        "Guida all'installazione",
        "Legge questo libro da due settimane e le piace molto.",
    ),
    "pt": (
        "O tempo está bom hoje.",
        "Onde fica a estação de comboios mais próxima?",
        "Execute `make test` antes de enviar as suas alterações.",
        "Guia de instalação",
        "Ela está a ler este livro há duas semanas e gosta muito dele.",
    ),
    "nl": (
        "Het weer is mooi vandaag.",
        "Waar is het dichtstbijzijnde treinstation?",
        "Voer `make test` uit voordat je je wijzigingen verstuurt.",
        "Installatiehandleiding",
        "Ze leest dit boek al twee weken en ze vindt het erg leuk.",
    ),
    "ru": (
        "Сегодня хорошая погода.",
        "Где ближайшая железнодорожная станция?",
        "Запустите `make test` перед отправкой изменений.",
        "Руководство по установке",
        "Она читает эту книгу уже две недели, и она ей очень нравится.",
    ),
    "zh": (
        "今天天气很好。",
        "最近的火车站在哪里？",
        "在提交更改之前，请运行 `make test`。",
        "安装指南",
        "她读这本书已经两个星期了，她非常喜欢它。",
    ),
    "ja": (
        "今日はいい天気です。",
        "最寄りの駅はどこですか？",
        "変更を送信する前に `make test` を実行してください。",
        "インストールガイド",
        "彼女はこの本を二週間読んでいて、とても気に入っています。",
    ),
}

# Seven more pairs (written for this project, not checked by a native speaker) for the
# languages the project's writer knows best, shown before the five above: a base model
# copies the register of what it was shown, and twelve pairs of everyday prose (a
# question, a past tense, a passive, an instruction, a negation, a condition) cost once
# per window on the shared-prefix path. Measured on bench/data/translate.jsonl:
# docs/quality.md.
_MORE_EXAMPLES: dict[str, tuple[str, ...]] = {
    "en": (
        "I can't come to the meeting tomorrow because I am ill.",
        "How much does a ticket to the city centre cost?",
        "Last summer we spent two weeks at my uncle's farm.",
        "The new bridge was opened by the mayor on Friday.",
        "Turn off the machine and wait five minutes before you clean it.",
        "There are no more seats left in the first row.",
        "If you have any questions, please write to us.",
    ),
    "fr": (
        "Je ne peux pas venir à la réunion demain parce que je suis malade.",
        "Combien coûte un billet pour le centre-ville ?",
        "L'été dernier, nous avons passé deux semaines dans la ferme de mon oncle.",
        "Le nouveau pont a été inauguré par le maire vendredi.",
        "Éteignez la machine et attendez cinq minutes avant de la nettoyer.",
        "Il n'y a plus de places libres au premier rang.",
        "Si vous avez des questions, écrivez-nous.",
    ),
    "es": (
        "No puedo ir a la reunión mañana porque estoy enfermo.",
        "¿Cuánto cuesta un billete al centro de la ciudad?",
        "El verano pasado pasamos dos semanas en la granja de mi tío.",
        "El alcalde inauguró el nuevo puente el viernes.",
        "Apague la máquina y espere cinco minutos antes de limpiarla.",
        "Ya no quedan asientos libres en la primera fila.",
        "Si tiene alguna pregunta, escríbanos, por favor.",
    ),
    "de": (
        "Ich kann morgen nicht zur Besprechung kommen, weil ich krank bin.",
        "Wie viel kostet eine Fahrkarte ins Stadtzentrum?",
        "Letzten Sommer haben wir zwei Wochen auf dem Bauernhof meines Onkels verbracht.",
        "Die neue Brücke wurde am Freitag vom Bürgermeister eröffnet.",
        "Schalten Sie das Gerät aus und warten Sie fünf Minuten, bevor Sie es reinigen.",
        "In der ersten Reihe sind keine Plätze mehr frei.",
        "Wenn Sie Fragen haben, schreiben Sie uns bitte.",
    ),
    "it": (
        "Domani non posso venire alla riunione perché sono malato.",
        "Quanto costa un biglietto per il centro città?",
        "L'estate scorsa abbiamo passato due settimane nella fattoria di mio zio.",
        "Il nuovo ponte è stato inaugurato dal sindaco venerdì.",
        "Spegni la macchina e aspetta cinque minuti prima di pulirla.",
        "Non ci sono più posti liberi in prima fila.",
        "Se avete domande, scriveteci.",
    ),
    "pt": (
        "Amanhã não posso ir à reunião porque estou doente.",
        "Quanto custa um bilhete para o centro da cidade?",
        "No verão passado passámos duas semanas na quinta do meu tio.",
        "A nova ponte foi inaugurada pelo presidente da câmara na sexta-feira.",
        "Desligue a máquina e espere cinco minutos antes de a limpar.",
        "Já não há lugares livres na primeira fila.",
        "Se tiver alguma pergunta, escreva-nos.",
    ),
    "nl": (
        "Ik kan morgen niet naar de vergadering komen, omdat ik ziek ben.",
        "Hoeveel kost een kaartje naar het stadscentrum?",
        "Vorige zomer hebben we twee weken op de boerderij van mijn oom doorgebracht.",
        "De nieuwe brug werd vrijdag door de burgemeester geopend.",
        "Zet de machine uit en wacht vijf minuten voordat u hem schoonmaakt.",
        "Er zijn geen plaatsen meer vrij op de eerste rij.",
        "Als u vragen heeft, schrijf ons dan.",
    ),
}

#: Languages a prompted (causal) model can be asked for: those with few-shot examples.
PROMPT_LANGUAGES: tuple[str, ...] = tuple(sorted(_EXAMPLES))


def name(code: str) -> str:
    """The English name of an ISO 639-1 code (the code itself when unknown)."""
    return NAMES.get(code, code)


def normalize(code: str) -> str:
    """Lower-case and trim a user's language code (``"FR "`` → ``"fr"``; ``"pt-BR"`` → ``"pt"``)."""
    return code.strip().lower().replace("_", "-").split("-")[0]


def check(code: str, supported: tuple[str, ...] | list[str], what: str) -> str:
    """Normalise ``code``; raise UsageError listing ``supported`` when it is not among them."""
    norm = normalize(code)
    if norm not in supported:
        raise UsageError(
            f"unsupported {what} language {code!r} for this model",
            hint=f"supported ISO 639-1 codes: {', '.join(sorted(supported))}",
        )
    return norm


def few_shot_pairs(source: str, target: str) -> list[tuple[str, str]]:
    """(source sentence, target sentence) example pairs for a prompted model.

    The extra pairs come first when both languages have them, so the five shared ones
    (inline code, a title) stay nearest the text to translate.
    """
    pairs = list(zip(_EXAMPLES[source], _EXAMPLES[target], strict=True))
    if source in _MORE_EXAMPLES and target in _MORE_EXAMPLES:
        more = zip(_MORE_EXAMPLES[source], _MORE_EXAMPLES[target], strict=True)
        pairs = [*more, *pairs]
    return pairs
