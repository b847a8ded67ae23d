"""Per-language centering of an embedder's vectors (prototype for issue 11; moves into mem_mcp's
embeddings package once the restructure lands).

Multilingual e5 puts every Chinese text near every other Chinese text and every English text near every
other English text: the language is the largest component of a vector, larger than what the text says,
so a Chinese question scores unrelated Chinese memories above its English answer. Subtracting each
language's mean vector (documents and queries separately: e5's ``query:``/``passage:`` roles sit in
different places too) and normalising again removes that component. The means come from a fixed
built-in corpus of parallel sentences (the same facts in both languages, so that the two means differ
by the language alone), never from a benchmark's texts.
"""

from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np

#: Parallel (zh, en) memory-style statements about an imaginary user, none taken from any benchmark set.
STATEMENTS = [
    ("用户在一家物流公司做运营主管", "The user is an operations lead at a logistics company"),
    ("用户每天骑电动车上班", "The user rides an e-scooter to work every day"),
    ("用户的外婆住在杭州", "The user's grandmother lives in Hangzhou"),
    ("用户不喜欢吃茄子", "The user doesn't like aubergine"),
    ("用户养了两只兔子", "The user keeps two rabbits"),
    ("用户的侄女今年上初中了", "The user's niece started middle school this year"),
    ("用户周末经常去图书馆看书", "The user often reads at the library on weekends"),
    ("用户对尘螨过敏", "The user is allergic to dust mites"),
    ("用户的车是一辆银色的丰田卡罗拉", "The user's car is a silver Toyota Corolla"),
    ("用户想学潜水", "The user would like to learn scuba diving"),
    ("用户每年夏天都去海边度假", "The user goes to the seaside every summer"),
    ("用户的妈妈是小学语文老师", "The user's mother teaches Chinese at a primary school"),
    ("用户最近换了一副隐形眼镜", "The user recently got new contact lenses"),
    ("用户的公司在市中心", "The user's office is in the city centre"),
    ("用户晚上喜欢泡脚", "The user likes to soak his feet in the evening"),
    ("用户大学读的是会计专业", "The user studied accounting at university"),
    ("用户会说一点法语", "The user speaks a little French"),
    ("用户的孩子在学围棋", "The user's child is learning Go"),
    ("用户每个月要还车贷", "The user pays off a car loan every month"),
    ("用户不喜欢坐长途大巴", "The user dislikes long coach journeys"),
    ("用户的生日在十二月", "The user's birthday is in December"),
    ("用户住在一个老小区的六楼", "The user lives on the sixth floor of an old housing estate"),
    ("用户喜欢喝冰美式", "The user likes iced americanos"),
    ("用户的室友是个程序员", "The user's flatmate is a programmer"),
    ("用户去年学会了开车", "The user learned to drive last year"),
    ("用户的膝盖不太好，不能爬楼梯", "The user has bad knees and avoids stairs"),
    ("用户在准备考研", "The user is preparing for the postgraduate entrance exam"),
    ("用户喜欢看纪录片", "The user enjoys watching documentaries"),
    ("用户的老板很严格", "The user's boss is very strict"),
    ("用户每周去一次超市", "The user goes to the supermarket once a week"),
    ("用户的狗叫豆豆", "The user's dog is called Doudou"),
    ("用户不会游泳", "The user cannot swim"),
    ("用户的丈夫是消防员", "The user's husband is a firefighter"),
    ("用户喜欢种花", "The user likes growing flowers"),
    ("用户在学做烘焙", "The user is learning to bake"),
    ("用户的手机是华为的", "The user's phone is a Huawei"),
    ("用户习惯早上洗澡", "The user usually showers in the morning"),
    ("用户的表弟在部队当兵", "The user's cousin serves in the army"),
    ("用户每年春天会去爬山", "The user goes hiking every spring"),
    ("用户最讨厌下雨天", "The user hates rainy days"),
    ("用户的工资不算高", "The user's salary is not very high"),
    ("用户小时候住在农村", "The user grew up in the countryside"),
    ("用户喜欢吃火锅", "The user loves hotpot"),
    ("用户的女朋友在银行上班", "The user's girlfriend works at a bank"),
    ("用户每天晚上跑五公里", "The user runs five kilometres every evening"),
    ("用户有高血压，在吃降压药", "The user has high blood pressure and takes medication for it"),
    ("用户的邻居经常在家开派对", "The user's neighbours often throw parties"),
    ("用户想在明年买房", "The user wants to buy a flat next year"),
    ("用户喜欢听古典音乐", "The user likes classical music"),
    ("用户的爸爸喜欢钓鱼", "The user's father likes fishing"),
    ("用户的电脑是台式机", "The user's computer is a desktop"),
    ("用户每周三晚上加班", "The user works late on Wednesday evenings"),
    ("用户对猫毛过敏", "The user is allergic to cat hair"),
    ("用户去过泰国三次", "The user has been to Thailand three times"),
    ("用户不吃猪肉", "The user doesn't eat pork"),
    ("用户的儿子在上高中", "The user's son is in high school"),
    ("用户喜欢穿运动鞋", "The user likes wearing trainers"),
    ("用户的车停在小区地下车库", "The user parks his car in the estate's underground garage"),
    ("用户的微信头像是一只熊猫", "The user's WeChat avatar is a panda"),
    ("用户经常失眠", "The user often has trouble sleeping"),
    ("用户最喜欢的运动是乒乓球", "The user's favourite sport is table tennis"),
    ("用户的同事送了他一盆绿萝", "A colleague gave the user a pothos plant"),
    ("用户在网上学Python", "The user is learning Python online"),
    ("用户的房租每个月三千五", "The user's rent is 3,500 a month"),
    ("用户结婚五年了", "The user has been married for five years"),
    ("用户不喜欢打游戏", "The user doesn't like video games"),
    ("用户的姑姑在美国生活", "The user's aunt lives in the United States"),
    ("用户每天喝八杯水", "The user drinks eight glasses of water a day"),
    ("用户最近在看《红楼梦》", "The user is reading Dream of the Red Chamber at the moment"),
    ("用户的护照在抽屉里", "The user keeps his passport in a drawer"),
    ("用户对海鲜没什么兴趣", "The user isn't keen on seafood"),
    ("用户喜欢自驾游", "The user enjoys road trips"),
    ("用户的眼睛有散光", "The user has astigmatism"),
    ("用户的公司每年组织一次团建", "The user's company holds a team-building trip every year"),
    ("用户以前在餐厅打过工", "The user once worked part-time in a restaurant"),
    ("用户的女儿喜欢画画", "The user's daughter likes drawing"),
    ("用户每周给奶奶打一次电话", "The user calls his grandmother once a week"),
    ("用户怕冷，冬天总穿很多", "The user feels the cold and wraps up in winter"),
    ("用户的银行卡丢过一次", "The user once lost his bank card"),
    ("用户喜欢吃辣条", "The user likes spicy gluten strips"),
    ("用户在考驾照科目三", "The user is taking the road part of his driving test"),
    ("用户的朋友开了一家花店", "A friend of the user opened a flower shop"),
    ("用户不太会做饭", "The user is not much of a cook"),
    ("用户每天早上七点起床", "The user gets up at seven every morning"),
    ("用户的电动车电池坏了", "The battery of the user's e-bike is broken"),
    ("用户希望以后去国外工作", "The user hopes to work abroad one day"),
    ("用户的牙齿做过矫正", "The user had braces on his teeth"),
    ("用户最喜欢的演员是梁朝伟", "The user's favourite actor is Tony Leung"),
    ("用户的家在地铁站旁边", "The user's home is next to a metro station"),
    ("用户在健身房办了年卡", "The user has an annual gym membership"),
    ("用户的同学在深圳创业", "A classmate of the user runs a startup in Shenzhen"),
    ("用户小时候摔断过胳膊", "The user broke his arm as a child"),
    ("用户喜欢喝酸奶", "The user likes yoghurt"),
    ("用户下个月要去上海出差", "The user has a business trip to Shanghai next month"),
    ("用户的体重最近涨了五斤", "The user has put on a bit of weight recently"),
    ("用户不用信用卡", "The user doesn't use credit cards"),
    ("用户每年都会献血", "The user gives blood every year"),
    ("用户的孩子刚学会走路", "The user's baby has just learned to walk"),
    ("用户喜欢下象棋", "The user enjoys Chinese chess"),
    ("用户的岳父是退休工人", "The user's father-in-law is a retired factory worker"),
]
#: Parallel (zh, en) questions of the kind a user or an assistant asks about such facts.
QUESTIONS = [
    ("我在哪家公司上班？", "Which company do I work for?"),
    ("我怎么去上班？", "How do I get to work?"),
    ("我外婆住在哪里？", "Where does my grandmother live?"),
    ("我不爱吃什么菜？", "Which vegetable don't I like?"),
    ("我养了什么宠物？", "What pets do I have?"),
    ("我侄女上几年级了？", "What year is my niece in at school?"),
    ("我周末一般去哪看书？", "Where do I read at weekends?"),
    ("我对什么过敏？", "What am I allergic to?"),
    ("我的车是什么牌子的？", "What make is my car?"),
    ("我想学什么运动？", "Which sport would I like to learn?"),
    ("我夏天去哪度假？", "Where do I go on holiday in summer?"),
    ("我妈妈教什么？", "What does my mother teach?"),
    ("我的公司在哪里？", "Where is my office?"),
    ("我大学学的什么？", "What did I study at university?"),
    ("我会说什么外语？", "Which foreign language do I speak?"),
    ("我每个月要还什么贷款？", "What loan am I paying off?"),
    ("我的生日在几月？", "Which month is my birthday in?"),
    ("我住在几楼？", "Which floor do I live on?"),
    ("我喜欢喝什么咖啡？", "What coffee do I like?"),
    ("我的室友是做什么的？", "What does my flatmate do?"),
    ("我什么时候学会开车的？", "When did I learn to drive?"),
    ("我的膝盖怎么了？", "What's wrong with my knees?"),
    ("我在准备什么考试？", "Which exam am I preparing for?"),
    ("我喜欢看什么节目？", "What do I like to watch?"),
    ("我的狗叫什么？", "What's my dog called?"),
    ("我会游泳吗？", "Can I swim?"),
    ("我丈夫是做什么工作的？", "What does my husband do?"),
    ("我在学做什么？", "What am I learning to make?"),
    ("我用的什么手机？", "What phone do I use?"),
    ("我表弟在做什么？", "What is my cousin doing?"),
    ("我讨厌什么天气？", "What weather do I hate?"),
    ("我小时候住在哪里？", "Where did I live as a child?"),
    ("我最爱吃什么？", "What is my favourite food?"),
    ("我女朋友在哪里上班？", "Where does my girlfriend work?"),
    ("我每天晚上跑多远？", "How far do I run each evening?"),
    ("我在吃什么药？", "What medication am I on?"),
    ("我打算什么时候买房？", "When do I plan to buy a flat?"),
    ("我喜欢听什么音乐？", "What music do I like?"),
    ("我爸爸有什么爱好？", "What's my father's hobby?"),
    ("我哪天晚上加班？", "Which evening do I work late?"),
    ("我去过几次泰国？", "How many times have I been to Thailand?"),
    ("我不吃什么肉？", "Which meat don't I eat?"),
    ("我儿子上几年级？", "What grade is my son in?"),
    ("我的车停在哪里？", "Where do I park my car?"),
    ("我睡得好吗？", "Do I sleep well?"),
    ("我最喜欢什么运动？", "What's my favourite sport?"),
    ("我在网上学什么？", "What am I learning online?"),
    ("我的房租多少钱？", "How much is my rent?"),
    ("我结婚几年了？", "How long have I been married?"),
    ("我姑姑住在哪个国家？", "Which country does my aunt live in?"),
    ("我最近在读什么书？", "What book am I reading now?"),
    ("我的护照放在哪？", "Where do I keep my passport?"),
    ("我喜欢怎么旅行？", "How do I like to travel?"),
    ("我的眼睛有什么问题？", "What is wrong with my eyes?"),
    ("我以前打过什么工？", "What part-time job did I once have?"),
    ("我女儿喜欢做什么？", "What does my daughter like doing?"),
    ("我多久给奶奶打电话？", "How often do I call my grandmother?"),
    ("我几点起床？", "What time do I get up?"),
    ("我以后想去哪里工作？", "Where do I hope to work in the future?"),
    ("我最喜欢哪个演员？", "Who is my favourite actor?"),
    ("我下个月去哪出差？", "Where is my business trip next month?"),
    ("我用信用卡吗？", "Do I use a credit card?"),
    ("我多久献一次血？", "How often do I give blood?"),
    ("我岳父以前做什么？", "What did my father-in-law do before he retired?"),
]


def _lang(text: str) -> str:
    from mem_mcp.retrieval import language

    return language(text)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


class CenteredEmbedder:
    """Wraps an embedder: each vector minus its language's mean (documents and queries apart), unit length."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = f"{inner.name}+centered"
        self._means: dict[tuple[str, str], np.ndarray] | None = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    def load(self) -> None:
        self.inner.load()
        self.means()

    def means(self) -> dict[tuple[str, str], np.ndarray]:
        with self._lock:
            if self._means is None:
                zh_s, en_s = zip(*STATEMENTS)
                zh_q, en_q = zip(*QUESTIONS)
                self._means = {
                    ("zh", "d"): self.inner.embed_documents(list(zh_s)).mean(0),
                    ("en", "d"): self.inner.embed_documents(list(en_s)).mean(0),
                    ("zh", "q"): np.stack([self.inner.embed_query(t) for t in zh_q]).mean(0),
                    ("en", "q"): np.stack([self.inner.embed_query(t) for t in en_q]).mean(0),
                }
            return self._means

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        vecs = self.inner.embed_documents(texts)
        if not len(texts):
            return vecs
        m = self.means()
        return _unit(vecs - np.stack([m[(_lang(t), "d")] for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        return _unit(self.inner.embed_query(text) - self.means()[(_lang(text), "q")])
