"""Small talk: greetings, thanks, goodbyes, "are you a bot?", emoji-only (English and Chinese).

Such a message gets a short answer in the creator's voice ([smalltalk] in the config); it is not a
question, so it is never handed off and never counted as unanswered.
"""

from __future__ import annotations

import re

from bot.config import SmallTalkConfig

_PHRASES: dict[str, set[str]] = {
    "greeting": {
        "hi", "hey", "hello", "helo", "hallo", "hiya", "heya", "yo", "howdy", "greetings", "sup", "whats up",
        "what's up", "good morning", "good afternoon", "good evening", "morning", "evening", "hi there",
        "hey there", "hello there", "hi again", "hello again", "hey again", "hello everyone", "hi all",
        "你好", "您好", "嗨", "哈喽", "哈啰", "哈罗", "早", "早上好", "早安", "上午好", "中午好", "下午好", "晚上好",
        "大家好", "在吗", "在不在", "你好啊", "你好呀",
    },
    "thanks": {
        "thanks", "thank you", "thx", "ty", "tysm", "thanks a lot", "thank you so much", "thanks so much",
        "many thanks", "cheers", "much appreciated", "appreciate it", "thanks again", "thank you very much",
        "ok thanks", "okay thanks", "ok thank you", "great thanks", "thanks man", "thank u",
        "谢谢", "多谢", "谢谢你", "谢谢您", "感谢", "非常感谢", "谢啦", "谢了", "太感谢了", "谢谢啦",
    },
    "goodbye": {
        "bye", "goodbye", "good bye", "bye bye", "byebye", "see you", "see ya", "cya", "good night", "gn",
        "later", "see you later", "take care", "have a nice day",
        "再见", "拜拜", "晚安", "回头见", "下次见", "明天见", "拜",
    },
    "bot": {
        "are you a bot", "are you a robot", "are you human", "are you real", "is this a bot", "are you an ai",
        "is this ai", "are you a real person", "am i talking to a bot", "is this a real person", "who are you",
        "bot", "robot", "are you bot",
        "你是机器人吗", "你是真人吗", "是机器人吗", "你是谁", "你是人吗", "机器人吗", "你是ai吗", "是真人吗",
        "你是机器人", "是人工回复吗",
    },
    "ack": {
        "ok", "okay", "k", "kk", "cool", "nice", "great", "alright", "got it", "sure", "lol", "haha", "wow",
        "好", "好的", "嗯", "嗯嗯", "哦", "收到", "明白", "明白了", "哈哈", "好吧", "行",
    },
}
_STRIP = re.compile(r"[^\w\s']+", re.UNICODE)
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff]")


def normalize(text: str) -> str:
    low = text.casefold().replace("’", "'")
    return re.sub(r"\s+", " ", _STRIP.sub(" ", low)).strip()


def classify(text: str) -> str | None:
    """The kind of small talk ("greeting", "thanks", "goodbye", "bot", "ack", "emoji"), or None for a question."""
    if not text.strip():
        return None
    if not any(ch.isalnum() for ch in text):
        return "emoji"
    norm = normalize(text)
    for kind, phrases in _PHRASES.items():
        if norm in phrases:
            return kind
    # "hi Maya", "thanks Maya!": a greeting or thanks plus one word, and no question mark
    words = norm.split(" ")
    if len(words) == 2 and "?" not in text and "？" not in text:
        for kind in ("greeting", "thanks", "goodbye"):
            if words[0] in _PHRASES[kind]:
                return kind
    return None


def reply(kind: str, text: str, config: SmallTalkConfig) -> str:
    """The configured answer, in Chinese when the message is."""
    chinese = bool(_CJK.search(text))
    if kind in ("greeting", "thanks", "goodbye", "bot") and chinese:
        return str(getattr(config, f"{kind}_zh"))
    return str(getattr(config, kind))
