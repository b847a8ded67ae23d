"""The client's model for MCP sampling tests: a ``sampling_callback`` for the SDK ``Client`` that answers
from a script. It is the only double in those tests; the server, the client and the transport are real.

Script items: a dict is the ``record_memories`` input (a tool call when the request offers tools, else
the dict as JSON text); a str is a text answer; ``ErrorData`` is a refusal; ``Delay`` answers late; a
callable is given the request's prompt and returns one of these.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types


@dataclass
class Delay:
    seconds: float
    then: Any


class ScriptedModel:
    def __init__(self, model: str = "scripted-model") -> None:
        self.model = model
        self.script: list[Any] = []
        self.requests: list[types.CreateMessageRequestParams] = []

    def answer(self, *items: Any) -> None:
        self.script.extend(items)

    def prompt(self, n: int = -1) -> str:
        """The text of the n-th request's user message."""
        content = self.requests[n].messages[0].content
        blocks = content if isinstance(content, list) else [content]
        return "".join(b.text for b in blocks if isinstance(b, types.TextContent))

    async def __call__(
        self, context: Any, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult | types.CreateMessageResultWithTools | types.ErrorData:
        self.requests.append(params)
        if not self.script:
            return types.ErrorData(code=types.INTERNAL_ERROR, message="the scripted model has no answer left")
        item = self.script.pop(0)
        if callable(item):
            item = item(self.prompt())
        if isinstance(item, Delay):
            await anyio.sleep(item.seconds)
            item = item.then
        if isinstance(item, types.ErrorData):
            return item
        if isinstance(item, dict) and params.tools:
            call = types.ToolUseContent(name=params.tools[0].name, id=f"call_{len(self.requests)}", input=item)
            return types.CreateMessageResultWithTools(
                role="assistant", content=[call], model=self.model, stop_reason="toolUse"
            )
        text = json.dumps(item, ensure_ascii=False) if isinstance(item, dict) else str(item)
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text=text), model=self.model, stop_reason="endTurn"
        )


#: The seed-001 conversation (Bailian long-term memory docs) and what a model would answer for it.
SEED_CONVERSATION = [
    {"role": "user", "content": "你好"},
    {"role": "assistant", "content": "你好！有什么可以帮你？"},
    {"role": "user", "content": "每天上午11点提醒我点外卖。"},
    {"role": "assistant", "content": "好的，已记下。"},
    {"role": "user", "content": "明天10点提醒我整理会议纪要。"},
]
TAKEAWAY = "用户希望每天上午11点被提醒点外卖。"
MINUTES = "用户希望次日上午10点被提醒整理会议纪要。"
SEED_ANSWER = {
    "memories": [
        {"text": TAKEAWAY, "type": "fact", "confidence": 0.95, "source_messages": [2]},
        {"text": MINUTES, "type": "fact", "confidence": 0.95, "source_messages": [4]},
    ],
    "decisions": [{"candidate": 0, "action": "ADD"}, {"candidate": 1, "action": "ADD"}],
}


def seed_again(prompt: str) -> dict[str, Any]:
    """What a model answers for the seed conversation once its memories exist: NONE for each, by the
    short id the prompt shows it under."""
    shown = {text: short_id for short_id, text in re.findall(r"^(m\d+) \[\w+\] (.+)$", prompt, re.M)}
    return {
        "memories": SEED_ANSWER["memories"],
        "decisions": [
            {"candidate": i, "action": "NONE", "target": shown[m["text"]]}
            for i, m in enumerate(SEED_ANSWER["memories"])
        ],
    }
