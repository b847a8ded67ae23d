"""A held-out case table for the offline extractor, scored by bench/offline_extraction_quality.py.

Written without reading the extractor's rules (only extraction/base.py and the module docstring of
extraction/offline.py), so that it measures how the rules generalise, not how they fit the table of
tests/extraction/offline/test_offline.py they were written with. Do not edit these cases to follow the
extractor's results: add new ones, and keep the old ones.

Each case is a conversation a user might have with an assistant, with:

* ``must``: substrings that must each appear in some extracted memory (the fact's key noun, name or
  number, or a relative date resolved to ISO, not a sentence form);
* ``retract``: substrings that must each appear in a memory with ``retracts=True``;
* ``must_not``: substrings that must appear in no memory (unresolved relative dates, the assistant's
  own words, hypotheticals, questions, requests).

A case with no ``must`` and no ``retract`` expects nothing: small talk, questions, requests.
Chinese cases are dated Wednesday 2027-03-10 20:30 +08:00, English ones Wednesday 2027-03-10
08:15 -05:00; relative dates resolve against those, in the message's own time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

ZH_CREATED = datetime.fromisoformat("2027-03-10T20:30:00+08:00")
EN_CREATED = datetime.fromisoformat("2027-03-10T08:15:00-05:00")
FACTS = ("fact", "preference")
WITH_TOOL = ("fact", "preference", "tool")


@dataclass(frozen=True)
class HeldoutCase:
    id: str
    lang: str  # "zh" or "en"
    messages: list[tuple[str, str]]
    must: list[str] = field(default_factory=list)
    retract: list[str] = field(default_factory=list)
    must_not: list[str] = field(default_factory=list)
    strategies: tuple[str, ...] = FACTS

    @property
    def created_at(self) -> datetime:
        return ZH_CREATED if self.lang == "zh" else EN_CREATED


def _zh(id: str, messages: list[tuple[str, str]], **kw) -> HeldoutCase:
    return HeldoutCase(f"zh-{id}", "zh", messages, **kw)


def _en(id: str, messages: list[tuple[str, str]], **kw) -> HeldoutCase:
    return HeldoutCase(f"en-{id}", "en", messages, **kw)


HELDOUT_CASES: list[HeldoutCase] = [
    # ================================ Chinese =====================================================
    _zh(
        "job-and-city",
        [
            ("user", "先说一下背景：我在杭州一家电商公司做产品经理。"),
            ("assistant", "好的，了解了。有什么需要帮忙的？"),
            ("user", "帮我想想下季度的需求评审怎么安排"),
        ],
        must=["杭州", "产品经理"],
        must_not=["需求评审"],
    ),
    _zh(
        "allergy-inside-request",
        [
            ("user", "帮我推荐几道家常菜吧，我对花生过敏，我老公不吃辣。"),
        ],
        must=["花生", "辣"],
    ),
    _zh(
        "quit-drinking",
        [
            ("user", "我最近戒酒了，以后聚餐别再给我推荐喝酒的地方。"),
            ("assistant", "明白，我会记住的。"),
        ],
        must=["酒"],
        must_not=["明白"],
    ),
    _zh(
        "trip-next-wednesday",
        [
            ("user", "我下周三要去成都出差，帮我看看那边天气"),
            ("assistant", "成都下周多云，气温10到16度。"),
        ],
        must=["成都", "2027-03-17"],
        must_not=["下周三", "多云"],
    ),
    _zh(
        "reminder-day-after-tomorrow",
        [
            ("user", "后天早上8点提醒我给房东转房租"),
        ],
        must=["房租", "2027-03-12"],
        must_not=["后天"],
    ),
    _zh(
        "forget-id-number",
        [
            ("user", "把我的身份证号删掉吧，不要再记着了。"),
        ],
        retract=["身份证"],
    ),
    _zh(
        "small-talk",
        [
            ("user", "早上好～"),
            ("assistant", "早上好！今天想聊点什么？"),
            ("user", "哈哈你真逗"),
            ("user", "行吧"),
            ("user", "好的，谢谢啦"),
            ("user", "没事了，拜拜"),
        ],
    ),
    _zh(
        "questions-only",
        [
            ("user", "北京到上海的高铁要多久？"),
            ("assistant", "最快大约4个半小时。"),
            ("user", "票价大概多少？二等座呢？"),
            ("user", "周末人会不会很多？"),
        ],
        must_not=["北京", "上海", "票价"],
    ),
    _zh(
        "requests-only",
        [
            ("user", "帮我写一封请假邮件"),
            ("assistant", "好的，这是草稿：……"),
            ("user", "语气再正式一点"),
            ("user", "再翻译成英文"),
            ("user", "最后加一句感谢领导"),
        ],
        must_not=["请假", "英文", "正式"],
    ),
    _zh(
        "daughter-and-dog",
        [
            ("user", "我女儿今年上小学三年级，家里还养了一只叫豆豆的柯基。"),
        ],
        must=["三年级", "豆豆"],
    ),
    _zh(
        "answer-style",
        [
            ("user", "以后回答尽量简短，直接给结论，不用客套。"),
        ],
        must=["简短"],
    ),
    _zh(
        "weekly-badminton",
        [
            ("user", "我每周六上午都去打羽毛球，雷打不动。"),
        ],
        must=["羽毛球"],
    ),
    _zh(
        "remember-mother-birthday",
        [
            ("user", "记住，我妈妈的生日是农历八月十五。"),
        ],
        must=["八月十五"],
    ),
    _zh(
        "tool-deploy-failure",
        [
            ("user", "帮我部署一下测试环境"),
            ("tool", "部署失败：镜像拉取超时，registry.cn-hangzhou 连接超时，重试3次均失败。"),
            ("assistant", "部署失败了，原因是镜像拉取超时。"),
        ],
        must=["镜像"],
        strategies=WITH_TOOL,
    ),
    _zh(
        "vegetarian-question",
        [
            ("user", "我是素食者，周末聚餐点什么菜好？"),
        ],
        must=["素食"],
    ),
    _zh(
        "age-and-birthday",
        [
            ("user", "我今年28岁，生日是5月20号。"),
        ],
        must=["28", "5月20"],
    ),
    _zh(
        "changed-employer",
        [
            ("user", "我已经从腾讯离职了，现在在字节跳动做后端开发。"),
        ],
        must=["字节跳动", "后端"],
    ),
    _zh(
        "likes-and-dislikes",
        [
            ("user", "我特别讨厌吃香菜，但是超级喜欢吃榴莲。"),
        ],
        must=["香菜", "榴莲"],
    ),
    _zh(
        "exam-in-three-days",
        [
            ("user", "三天后我要考驾照科目二，好紧张。"),
        ],
        must=["科目二", "2027-03-13"],
        must_not=["三天后"],
    ),
    _zh(
        "assistant-opinions-are-not-user-facts",
        [
            ("user", "推荐一部电影吧"),
            ("assistant", "我很喜欢《星际穿越》，我住在云端，每天都看电影。"),
            ("user", "好的我去看看"),
        ],
        must_not=["星际穿越", "云端"],
    ),
    _zh(
        "wishful-hypothetical",
        [
            ("user", "要是我住在海边就好了，天天可以冲浪。"),
        ],
        must_not=["海边", "冲浪"],
    ),
    _zh(
        "coworker-wedding",
        [
            ("user", "我同事小王下个月结婚，我得准备份子钱。"),
        ],
        must=["小王"],
    ),
    _zh(
        "blood-pressure",
        [
            ("user", "我有高血压，每天早上吃一片降压药。"),
        ],
        must=["高血压", "降压药"],
    ),
    _zh(
        "languages",
        [
            ("user", "我母语是粤语，普通话说得一般，最近在学日语。"),
        ],
        must=["粤语", "日语"],
    ),
    _zh(
        "monthly-credit-card-reminder",
        [
            ("user", "每个月1号提醒我还信用卡"),
        ],
        must=["信用卡", "1号"],
    ),
    _zh(
        "moved-city",
        [
            ("user", "我现在不住北京了，上个月搬到了深圳。"),
        ],
        must=["深圳"],
    ),
    _zh(
        "wife-teacher",
        [
            ("user", "我老婆叫李娜，是小学老师。"),
        ],
        must=["李娜", "老师"],
    ),
    _zh(
        "forget-phone-colloquial",
        [
            ("user", "我的手机号是13800138000"),
            ("assistant", "好的。"),
            ("user", "算了，刚才那个手机号别记了。"),
        ],
        must=["13800138000"],
        retract=["手机号"],
    ),
    # ================================ English =====================================================
    _en(
        "job-and-city",
        [
            ("user", "Quick context before we start: I'm a nurse and I live in Leeds."),
            ("assistant", "Got it. What can I help with?"),
            ("user", "Can you help me plan my night shifts for next week?"),
        ],
        must=["nurse", "Leeds"],
    ),
    _en(
        "allergy-inside-request",
        [
            ("user", "Can you suggest a dinner recipe? I'm allergic to shellfish, and my husband doesn't eat pork."),
        ],
        must=["shellfish", "pork"],
    ),
    _en(
        "stopped-coffee",
        [
            ("user", "I don't drink coffee anymore, I switched to green tea a month ago."),
        ],
        must=["coffee", "green tea"],
    ),
    _en(
        "trip-next-tuesday",
        [
            ("user", "I'm flying to Lisbon next Tuesday for a conference."),
            ("assistant", "Nice! Lisbon is lovely in March."),
        ],
        must=["Lisbon", "2027-03-16"],
        must_not=["next Tuesday", "lovely"],
    ),
    _en(
        "reminder-on-friday",
        [
            ("user", "Remind me to renew my passport on Friday."),
        ],
        must=["passport", "2027-03-12"],
    ),
    _en(
        "forget-address",
        [
            ("user", "Please forget my home address."),
        ],
        retract=["address"],
    ),
    _en(
        "small-talk",
        [
            ("user", "Good morning!"),
            ("assistant", "Good morning! What's on your mind?"),
            ("user", "lol that's funny"),
            ("user", "ok cool"),
            ("user", "Nah, nothing really. Thanks anyway!"),
            ("user", "Have a nice day"),
        ],
    ),
    _en(
        "questions-only",
        [
            ("user", "What's the capital of Australia?"),
            ("assistant", "Canberra."),
            ("user", "And how many people live there?"),
            ("user", "Is it far from Sydney?"),
        ],
        must_not=["Canberra", "Sydney", "Australia"],
    ),
    _en(
        "requests-only",
        [
            ("user", "Write me a haiku about autumn."),
            ("assistant", "Crimson leaves drifting..."),
            ("user", "Make it sadder."),
            ("user", "Can you translate it to French?"),
            ("user", "Now give it a title."),
        ],
        must_not=["haiku", "French", "sadder"],
    ),
    _en(
        "daughter-and-dog",
        [
            ("user", "My daughter Emma is seven, and we have a golden retriever called Biscuit."),
        ],
        must=["Emma", "Biscuit"],
    ),
    _en(
        "answer-style",
        [
            ("user", "Please keep your answers short, and I prefer bullet points over long paragraphs."),
        ],
        must=["short", "bullet points"],
    ),
    _en(
        "swimming-habit",
        [
            ("user", "I go swimming every Tuesday and Thursday evening."),
        ],
        must=["swimming"],
    ),
    _en(
        "remember-sister-wedding",
        [
            ("user", "Remember that my sister's wedding is on June 14."),
        ],
        must=["wedding", "June 14"],
    ),
    _en(
        "tool-test-failure",
        [
            ("user", "Run the test suite please."),
            (
                "tool",
                "pytest: 3 failed, 120 passed. The failures are caused by the missing environment variable DATABASE_URL.",
            ),
            ("assistant", "Three tests failed because DATABASE_URL is not set."),
        ],
        must=["DATABASE_URL"],
        strategies=WITH_TOOL,
    ),
    _en(
        "vegan-question",
        [
            ("user", "I'm vegan, what should I bring to a potluck on Saturday?"),
        ],
        must=["vegan"],
    ),
    _en(
        "age-and-birthday",
        [
            ("user", "I'm 34 and my birthday is October 3rd."),
        ],
        must=["34", "October 3"],
    ),
    _en(
        "changed-employer",
        [
            ("user", "I no longer work at Deloitte; last week I joined a startup called Finch."),
        ],
        must=["Deloitte", "Finch"],
    ),
    _en(
        "likes-and-dislikes",
        [
            ("user", "I really can't stand horror movies, but I love a good documentary."),
        ],
        must=["horror", "documentar"],
    ),
    _en(
        "new-job-in-two-weeks",
        [
            ("user", "In two weeks I start a new job as a data analyst."),
        ],
        must=["data analyst", "2027-03-24"],
        must_not=["In two weeks", "in two weeks"],
    ),
    _en(
        "assistant-opinions-are-not-user-facts",
        [
            ("user", "Can you recommend a restaurant in Paris?"),
            ("assistant", "Sure! Le Comptoir is great, I love their duck and I live near there."),
            ("user", "Thanks, I'll check it out."),
        ],
        must_not=["duck", "Le Comptoir"],
    ),
    _en(
        "wishful-hypothetical",
        [
            ("user", "If I lived in Tokyo I'd eat ramen every single day."),
        ],
        must_not=["Tokyo", "ramen"],
    ),
    _en(
        "diabetes-medication",
        [
            ("user", "I take metformin twice a day for my diabetes."),
        ],
        must=["metformin", "diabetes"],
    ),
    _en(
        "tool-rate-limit",
        [
            ("user", "Get me the weather for Oslo."),
            ("tool", "Error: HTTP 429 from api.weather.example: rate limit of 60 requests per minute exceeded."),
            ("assistant", "The weather service is rate limiting us; I'll try again shortly."),
        ],
        must=["429"],
        must_not=["Oslo"],
        strategies=WITH_TOOL,
    ),
    _en(
        "languages",
        [
            ("user", "I speak Portuguese natively and I'm learning Korean."),
        ],
        must=["Portuguese", "Korean"],
    ),
    _en(
        "weekly-reminder",
        [
            ("user", "Every Monday at 8am, remind me to send the standup notes."),
        ],
        must=["standup notes", "Monday"],
    ),
    _en(
        "lowercase-slang",
        [
            ("user", "btw im lactose intolerant lol"),
        ],
        must=["lactose"],
    ),
    _en(
        "wife-pediatrician",
        [
            ("user", "My wife Priya is a pediatrician."),
        ],
        must=["Priya", "pediatrician"],
    ),
    _en(
        "forget-phone-after-giving-it",
        [
            ("user", "My phone number is 555-0134."),
            ("assistant", "Noted."),
            ("user", "Actually, don't keep my phone number."),
        ],
        must=["555-0134"],
        retract=["phone number"],
    ),
]
