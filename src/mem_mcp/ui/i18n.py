"""Interface text in English and Chinese. The language comes from the ``mmcp_lang`` cookie (set by the
switch in the page header) or else from the browser's ``Accept-Language``; English when neither says."""

from __future__ import annotations

from typing import Callable

LANGUAGES = ("en", "zh")
LANG_COOKIE = "mmcp_lang"

#: key -> (English, Chinese)
_TEXT: dict[str, tuple[str, str]] = {
    "title": ("mem-mcp console", "mem-mcp 控制台"),
    "skip": ("Skip to content", "跳到正文"),
    "nav": ("Sections", "栏目"),
    "overview": ("Overview", "概览"),
    "memories": ("Memories", "记忆"),
    "profiles": ("Profiles", "用户画像"),
    "activity": ("Activity", "活动"),
    "language": ("Language", "语言"),
    "sign_in": ("Sign in", "登录"),
    "sign_out": ("Sign out", "退出"),
    "token": ("Token", "令牌"),
    "sign_in_help": (
        "Paste the token the server's operator gave you (it starts with mmcp_). It is kept in a cookie "
        "scripts cannot read, for this browser session only.",
        "粘贴服务器管理员给你的令牌（以 mmcp_ 开头）。它保存在脚本无法读取的 Cookie 中，仅用于本次浏览器会话。",
    ),
    "bad_token": (
        "That token is not valid: it is unknown, revoked, or mistyped.",
        "令牌无效：未知、已吊销或输入有误。",
    ),
    "signed_in_as": ("Signed in", "已登录"),
    "local_user": ("Local console (admin)", "本地控制台（管理员）"),
    "role": ("role", "角色"),
    "tenant": ("Tenant", "租户"),
    "app": ("App", "应用"),
    "agent": ("Agent", "智能体"),
    "run": ("Run", "会话"),
    "store": ("Store", "存储库"),
    "type": ("Type", "类型"),
    "tag": ("Tag", "标签"),
    "tags": ("Tags", "标签"),
    "tags_help": ("Comma-separated", "用逗号分隔"),
    "since": ("Saved from", "保存于起"),
    "until": ("Saved until", "保存于止"),
    "any": ("any", "全部"),
    "all_tenants_hint": ("* for every tenant", "* 表示所有租户"),
    "search": ("Search", "搜索"),
    "search_label": ("Search memories", "搜索记忆"),
    "search_placeholder": ("In any language: what does the user drink?", "任意语言：用户喝什么？"),
    "apply": ("Apply filters", "应用筛选"),
    "clear": ("Clear", "清除"),
    "text": ("Text", "内容"),
    "saved": ("Saved", "保存时间"),
    "updated": ("Updated", "更新时间"),
    "conversation": ("Conversation", "对话"),
    "actions": ("Actions", "操作"),
    "score": ("Score", "相关度"),
    "status": ("Status", "状态"),
    "edit": ("Edit", "编辑"),
    "save": ("Save", "保存"),
    "cancel": ("Cancel", "取消"),
    "delete": ("Delete", "删除"),
    "history": ("History", "历史"),
    "select": ("Select", "选择"),
    "select_all": ("Select all shown", "全选本页"),
    "select_memory": ("Select memory", "选择记忆"),
    "delete_selected": ("Delete selected", "删除所选"),
    "confirm_delete": ("Delete these memories?", "删除这些记忆？"),
    "confirm_delete_one": ("Delete this memory?", "删除这条记忆？"),
    "confirm_delete_help": (
        "They leave search and lists; their history stays readable.",
        "它们将不再出现在搜索和列表中；历史记录仍可查看。",
    ),
    "nothing_selected": ("Select at least one memory first.", "请先选择至少一条记忆。"),
    "deleted_n": ("Deleted {n} memories.", "已删除 {n} 条记忆。"),
    "saved_version": (
        "Saved version {v}; the earlier text is kept in the history.",
        "已保存第 {v} 版；之前的内容保留在历史中。",
    ),
    "export": ("Export shown (JSON Lines)", "导出当前结果（JSON Lines）"),
    "import": ("Import", "导入"),
    "import_file": ("JSON Lines file from an export", "导出得到的 JSON Lines 文件"),
    "import_help": (
        "Each record is checked first: one bad line imports nothing. Importing the same file again replaces, never duplicates.",
        "先校验每条记录：有一行出错就全部不导入。重复导入同一文件只会覆盖，不会重复。",
    ),
    "imported_n": ("Imported {n} memories.", "已导入 {n} 条记忆。"),
    "import_progress": ("Import progress", "导入进度"),
    "no_memories": ("No memories here yet.", "这里还没有记忆。"),
    "no_results": ("No memories matched.", "没有匹配的记忆。"),
    "shown": ("{a}–{b} of {total}", "第 {a}–{b} 条，共 {total} 条"),
    "results_for": ("Results for “{q}”", "“{q}” 的搜索结果"),
    "prev": ("Previous page", "上一页"),
    "next": ("Next page", "下一页"),
    "memory": ("Memory", "记忆"),
    "details": ("Details", "详情"),
    "id": ("Id", "编号"),
    "version": ("Version", "版本"),
    "event": ("Event", "事件"),
    "when": ("When", "时间"),
    "request": ("Request", "请求"),
    "old_text": ("Before", "修改前"),
    "source": ("Source messages", "来源消息"),
    "source_none": (
        "Saved as written (request {r}); no conversation messages.",
        "按原文直接保存（请求 {r}），没有对话消息。",
    ),
    "source_gone": ("The source messages are no longer kept (short-term TTL).", "来源消息已过期删除（短期保留期）。"),
    "metadata": ("Metadata", "元数据"),
    "confidence": ("Confidence", "置信度"),
    "extractor": ("Extracted by", "提取方式"),
    "back_to_list": ("Back to memories", "返回记忆列表"),
    "counts": ("Counts", "计数"),
    "active": ("active", "有效"),
    "superseded": ("superseded", "已被取代"),
    "deleted": ("deleted", "已删除"),
    "messages": ("messages", "消息"),
    "by_type": ("Active by type", "按类型（有效）"),
    "saved_per_day": ("Memories saved per day (last {n} days)", "每日保存的记忆（最近 {n} 天）"),
    "searches_per_day": ("Searches per day (last {n} days)", "每日搜索次数（最近 {n} 天）"),
    "chart_table": ("Show as a table", "以表格显示"),
    "day": ("Day", "日期"),
    "count": ("Count", "数量"),
    "at_least": ("at least", "至少"),
    "schemas": ("Profile schemas", "画像模板"),
    "no_schemas": (
        "No profile schemas. Create one with `mem-mcp profile-schema create`.",
        "还没有画像模板。用 `mem-mcp profile-schema create` 创建。",
    ),
    "attributes": ("Attributes", "属性"),
    "attribute": ("Attribute", "属性"),
    "value": ("Value", "值"),
    "default_value": ("Default", "默认值"),
    "unknown": ("unknown", "未知"),
    "cleared": ("cleared", "已清除"),
    "show_profile": ("Show profile", "查看画像"),
    "profile_of": ("Profile of {t}", "{t} 的画像"),
    "request_log": ("Request log", "请求日志"),
    "jobs": ("Background jobs", "后台任务"),
    "jobs_help": (
        "Extractions of conversations; a failed one can run again from its saved messages.",
        "对话的记忆提取；失败的任务可以用已保存的消息重新运行。",
    ),
    "no_jobs": ("No extraction jobs.", "没有提取任务。"),
    "retry": ("Retry", "重试"),
    "retried": ("Request {r} is queued again.", "请求 {r} 已重新排队。"),
    "operation": ("Operation", "操作"),
    "outcome": ("Outcome", "结果"),
    "who": ("Who", "调用方"),
    "latency": ("Latency (ms)", "耗时（毫秒）"),
    "detail": ("Detail", "说明"),
    "attempts": ("Attempts", "尝试次数"),
    "error": ("Error", "错误"),
    "no_requests": ("No requests match.", "没有匹配的请求。"),
    "filter": ("Filter", "筛选"),
    "from": ("From", "起始日期"),
    "console_reads": ("Include this console's own reads", "包括控制台自身的读取"),
    "confirm_page": ("Confirm", "确认"),
    "not_found": ("Not found", "未找到"),
    "forbidden": ("Refused", "已拒绝"),
    "csrf_refused": (
        "This change was refused: it did not carry the page's security token. Reload the page and try again.",
        "此操作被拒绝：缺少页面的安全令牌。请刷新页面后重试。",
    ),
}


class _Blank(dict):  # type: ignore[type-arg]
    """Format values where a missing one is blank (a flash link without its count must not fail)."""

    def __missing__(self, key: str) -> str:
        return ""


def negotiate(accept_language: str | None, cookie: str | None) -> str:
    """The interface language: the switch's cookie, else the browser's first supported language."""
    if cookie in LANGUAGES:
        return cookie
    choices: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > 0:
            choices.append((-q, i, primary))
    return min(choices)[2] if choices else "en"


def translator(lang: str) -> Callable[..., str]:
    """``t("key", n=3)``: the text in ``lang`` with ``{n}`` filled in (the key itself when unknown)."""
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0

    def t(key: str, **values: object) -> str:
        pair = _TEXT.get(key)
        text = pair[index] if pair else key
        return text.format_map(_Blank(values)) if values else text

    return t
