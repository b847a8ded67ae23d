"""Who a question asks about, against who each candidate memory is about.

"子墨对什么过敏？" asks about Zimo; "用户对头孢类抗生素过敏" is about the user and says nothing of Zimo, so it
is no answer however many words it shares with the question. :func:`elsewhere` marks such candidates;
the ranking lowers them by ``retrieval.PERSON_WEIGHT``.

A question's people are read anywhere in it (a question puts its person late: "When did my daughter
start ..."): the names the candidates are about or define, written in either script ("子墨" is "Zimo"
through pinyin), the role words (daughter / 女儿, the dog / 狗), and the user ("我", "my", "I") where it
names no one else. A candidate's person is :func:`aliases.subject_of` (its first words). Nothing is
decided where either cannot be told, nor for a name against a role (乐乐 may be the son), nor where the
candidate mentions one of the question's people at all.
"""

from __future__ import annotations

import re

from . import aliases, lexicon
from .terms import _stem

_EN_WORD = re.compile(r"[A-Za-z]+")
_USER_WORD = re.compile(r"我|用户|\b(?:i|me|my|mine|myself|the user)\b", re.I)

# the user beside someone else ("Zhou Hao and I", "我和老公", "we")
_WITH_USER = re.compile(r"我们|我和|和我|我跟|跟我|\b(?:we|us|our|and (?:i|me)|(?:i|me) and)\b", re.I)

_ZH_ONE_CHAR_ROLES = frozenset("猫狗妈爸")

Person = tuple[str, frozenset[str]]


def asked_about(query: str, texts: list[str]) -> list[Person]:
    """The people ``query`` asks about: ("name", {name}), ("role", stems), or [("user", {})] alone."""
    defined = [d for text in texts for d in aliases.definitions(text)]
    names = {d.name for d in defined}
    for text in texts:
        subject = aliases.subject_of(text)
        if subject is not None and subject[0] == "name":
            names |= subject[1]
            full = aliases.EN_LEADING_NAME.match(text.strip())
            if full:
                names.add(full.group(0))
    people: list[Person] = [("name", frozenset({n})) for n in sorted(names) if aliases.name_in(n, query)]
    roles = {_stem(w.lower()) for w in _EN_WORD.findall(query)} & aliases.ROLES
    # A named person is also the role a memory defines for them (Lele is "her son", 周浩 "用户的丈夫").
    asked = {n for _, (n,) in people}
    for d in defined:
        if d.name in asked:
            roles |= _role_stems(d.role)
    if lexicon.installed():
        for word, _ in lexicon.words_of(query):
            # One character is a role only where it is one on its own (子 of 子墨 is no son, 大 no uncle).
            if len(word) > 1 or word in _ZH_ONE_CHAR_ROLES:
                roles |= aliases.zh_role_stems(word)
    people += [("role", frozenset({r})) for r in sorted(roles)]
    if (not people and _USER_WORD.search(query)) or _WITH_USER.search(query):
        people.append(("user", frozenset()))
    return people


def _role_stems(role: str) -> frozenset[str]:
    if _EN_WORD.fullmatch(role):
        return frozenset({_stem(role.lower())}) & aliases.ROLES
    return aliases.zh_role_stems(role)


def elsewhere(query: str, texts: list[str]) -> list[bool]:
    """Per text: it is first about someone the question does not ask about, and mentions none of them."""
    people = asked_about(query, texts)
    if not people:
        return [False] * len(texts)
    kinds = {kind for kind, _ in people}
    out = []
    for text in texts:
        subject = aliases.subject_of(text)
        if subject is None or subject in people:
            out.append(False)
            continue
        kind = subject[0]
        if kind == "role" and len(subject[1]) > 1:
            # 外甥 reads as "sister's son": a compound kin word is no one role to tell apart
            out.append(False)
            continue
        if (kind == "name" and kinds == {"role"}) or (kind == "role" and kinds == {"name"}):
            out.append(False)
            continue
        if kind == "role" and any(k == "role" and not w.isdisjoint(subject[1]) for k, w in people):
            out.append(False)
            continue
        out.append(not any(aliases.mentions(p, text) for p in people))
    return out
