"""Is a comment a question? Rules for English and Chinese, no model.

A comment is a question when it has a question mark ('?' or the full-width '？'), or when it reads like one:
English that starts with a question word ('what', 'how', ...; not the exclamations 'what a ...',
'how cool ...') or with an inverted auxiliary ('do you ...', 'is it ...', 'can someone ...'), or asks
outright ('anyone know ...', 'I wonder if ...'); Chinese with a question particle at the end (吗, 么
after a verb, 呢) or a question word (什么, 怎么, 为什么, 哪, 几 + a measure word, 多少, 谁, 是不是,
有没有 ...; not the non-questions 什么都, 哪怕, 几乎, 这几天 ...).
"""

from __future__ import annotations

import re

_QUESTION_MARK = re.compile(r"[?？¿⁇⁈⁉]")
_URL = re.compile(r"https?://\S+|www\.\S+")
_LEADING = re.compile(r"^(?:(?:@\w+|hi|hey|hello|so|ok|okay|btw|and|but|also|oh|well|guys|quick question|sorry)"
                      r"[\s,:;.!-]*)+", re.IGNORECASE)
_WH = ("what", "why", "how", "when", "where", "who", "whom", "whose", "which")
_WH_CONTRACTED = ("what's", "whats", "how's", "where's", "who's", "when's", "why's")
# after a question word, what makes it a question rather than a clause ("when I saw this ...")
_WH_NEXT = ("to", "much", "many", "long", "often", "far", "about", "time", "kind", "one", "else", "not", "come",
            "exactly", "size", "day", "type", "version", "part")
_AUX = ("do", "does", "did", "is", "are", "was", "were", "am", "can", "could", "will", "would", "should",
        "shall", "may", "might", "have", "has", "had", "must", "don't", "doesn't", "didn't", "isn't", "aren't",
        "wasn't", "weren't", "can't", "couldn't", "won't", "wouldn't", "shouldn't", "haven't", "hasn't")
# after an inverted auxiliary, a subject: "do you", "is it", "can someone", "are the", "will there"
_SUBJECT = ("i", "you", "we", "they", "he", "she", "it", "there", "this", "that", "these", "those", "the", "a",
            "an", "your", "my", "our", "their", "his", "her", "its", "anyone", "anybody", "someone", "somebody",
            "everyone", "any", "u", "ya")
_ASKING = re.compile(r"^(?:any(?:one|body)\s+(?:know|knows|tried|have|has|else|here|got|seen)|any\s+(?:idea|ideas|"
                     r"tips|advice|recommendations?|suggestions?|news|update|updates|plans?|chance)\b)"
                     r"|\b(?:i\s+wonder|i'?m\s+wondering|i\s+was\s+wondering|wondering\s+(?:if|whether|how|what|why|"
                     r"when|where)|can\s+(?:someone|anyone|you)\s+(?:tell|explain|help)|please\s+(?:tell|explain)\s+me"
                     r"|do\s+you\s+know\s+(?:if|whether|how|what|when|where|why))\b", re.IGNORECASE)
_EXCLAMATION = re.compile(r"^(?:what\s+(?:a|an)\b|how\s+(?:cool|nice|great|lovely|beautiful|amazing|awesome|sweet|"
                          r"cute|funny|sad|wonderful|fun|kind|brave|true|interesting|exciting)\b)", re.IGNORECASE)
_WORD = re.compile(r"[a-z']+")

# Chinese: question words anywhere, sentence-final particles, and the non-questions that contain them
_ZH_WORDS = re.compile(r"什么|啥|怎么|怎样|怎麼|为什么|為什麼|为何|何时|何地|哪|谁|誰|多少|多久|多长|多大|多远|是否|能否|可否|"
                       r"有没有|有沒有|是不是|能不能|会不会|會不會|可不可以|要不要|行不行|对不对|好不好|几[点个天次号岁年月时分位种本件块遍周期]")
_ZH_NOT = re.compile(r"什么都|什么也|啥都|哪怕|哪里哪里|不知道为什么|谁知道|[好这那十没前后头]几|几乎|多少有点|多少有些|怎么都|怎么也|"
                     r"没什么|不怎么|谁都")
_ZH_FINAL = re.compile(r"(?:吗|嗎|么|呢|麼)\W*$")
_ZH_FINAL_NOT = re.compile(r"(?:这么|那么|多么|怎么|什么|要么|这麼|那麼)\W*$")
_CJK = re.compile(r"[\u3400-\u9fff]")


def is_question(text: str) -> bool:
    """True when the comment asks something (English or Chinese; see the module docstring)."""
    text = _URL.sub(" ", text or "").strip()
    if not text:
        return False
    if _QUESTION_MARK.search(text):
        return True
    return _chinese_question(text) or _english_question(text)


def _chinese_question(text: str) -> bool:
    if not _CJK.search(text):
        return False
    cleaned = _ZH_NOT.sub("", text)
    if _ZH_WORDS.search(cleaned):
        return True
    return bool(_ZH_FINAL.search(text)) and not _ZH_FINAL_NOT.search(text)


def _english_question(text: str) -> bool:
    for sentence in re.split(r"(?<=[.!;\n])\s*", text):
        s = _LEADING.sub("", sentence.strip())
        if not s:
            continue
        if _ASKING.search(s):
            return True
        if s.rstrip().endswith("!") or _EXCLAMATION.match(s):
            continue
        words = _WORD.findall(s.lower().replace("’", "'"))
        if not words:
            continue
        if words[0] in (*_WH_CONTRACTED, "which", "whose") and len(words) >= 2:
            return True
        if words[0] in _WH and len(words) >= 2 and (words[1] in _AUX or words[1] in _WH_NEXT):
            return True
        if words[0] in _AUX and len(words) >= 3 and words[1] in _SUBJECT:
            return True
    return False
