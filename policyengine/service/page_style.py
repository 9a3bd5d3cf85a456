"""The auditors' page: its words (Chinese by default, English) and its style sheet.

The style sheet is inline (no file, font or script from anywhere): readable type, contrast
of at least 4.5:1, a visible focus ring, and a print layout without the forms.
"""

from __future__ import annotations

PAGE_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "html_lang": "zh-CN",
        "title": "理赔审核说明",
        "brand": "policyengine · 理赔审核说明",
        "skip": "跳到正文",
        "switch": "English",
        "switch_lang": "en",
        "languages": "语言",
        "intro": "粘贴或上传一份理赔(JSON),或打开账本中已结算的理赔,查看结论、费用分担、"
        "审核发现和每一步计算所依据的规则与条款。点击条款可查看原文并高亮所引文字。",
        "paste": "理赔 JSON",
        "upload": "或上传理赔文件",
        "region": "地区(理赔未注明时)",
        "region_any": "按理赔注明",
        "moment": "审核时点",
        "moment_before": "开药前提示",
        "moment_during": "开药时监控",
        "moment_after": "开药后审核",
        "as_of": "按此日规则(可选,YYYY-MM-DD)",
        "explain": "说明",
        "settled_title": "打开已结算的理赔",
        "claim_id": "理赔编号",
        "settled_region": "地区",
        "open": "打开",
        "no_ledger": "本服务未配置账本,无法打开已结算的理赔。",
        "refused": "理赔未能审核",
        "refused_intro": "理赔不符合接口约定,各问题及其 JSON 路径如下:",
        "money_caption": "费用分担(元)",
        "amount": "金额",
        "item": "项目",
        "rules_used": "所用规则",
        "status": "结算状态",
        "status_settled": "已结算",
        "status_cancelled": "已撤销",
        "document": "原文",
        "back": "返回说明",
        "clause_missing": "原文中找不到所引条款,以下为全文。",
        "quote_missing": "所引文字未在条款中找到。",
        "not_held": "本政策未收录此文件原文。",
        "rule_file": "规则文件",
        "number": "文号",
        "date": "日期",
        "cited_clause": "所引条款",
        "quote": "所引文字",
        "not_found": "未找到",
        "print": "打印本页时不含表单。",
    },
    "en": {
        "html_lang": "en",
        "title": "Claim decision explained",
        "brand": "policyengine · claim decisions explained",
        "skip": "Skip to the content",
        "switch": "中文",
        "switch_lang": "zh",
        "languages": "Language",
        "intro": "Paste or upload a claim (JSON), or open a claim settled in the ledger, to see "
        "the decision, the money split, the findings and every step with the rule and clause "
        "it rests on. Follow a clause to read the document with the quoted words highlighted.",
        "paste": "Claim JSON",
        "upload": "or upload a claim file",
        "region": "Region (when the claim names none)",
        "region_any": "as the claim says",
        "moment": "Audit moment",
        "moment_before": "before prescribing (prompts)",
        "moment_during": "while prescribing (monitoring)",
        "moment_after": "after (review)",
        "as_of": "Apply the rules of this date (optional, YYYY-MM-DD)",
        "explain": "Explain",
        "settled_title": "Open a settled claim",
        "claim_id": "Claim id",
        "settled_region": "Region",
        "open": "Open",
        "no_ledger": "This service keeps no ledger: settled claims cannot be opened.",
        "refused": "The claim was not adjudicated",
        "refused_intro": "The claim breaks the contract; each problem with its JSON path:",
        "money_caption": "The money split (CNY)",
        "amount": "Amount",
        "item": "Item",
        "rules_used": "Rules used",
        "status": "Settlement",
        "status_settled": "settled",
        "status_cancelled": "cancelled",
        "document": "Document",
        "back": "Back to the explanation",
        "clause_missing": "The cited clause is not in the document; the whole text follows.",
        "quote_missing": "The quoted words were not found in the clause.",
        "not_held": "This policy does not hold the document's text.",
        "rule_file": "Rule file",
        "number": "Number",
        "date": "Date",
        "cited_clause": "Cited clause",
        "quote": "Quoted words",
        "not_found": "Not found",
        "print": "Printed pages leave the forms out.",
    },
}

STYLE = """
:root { color-scheme: light; --ink: #1b1b1b; --muted: #4a4a4a; --line: #c8c8c8;
  --accent: #0b5394; --pay: #1d6b2f; --partial: #8a4b00; --reject: #a3161b;
  --review: #5b3e96; --mark: #fff0a8; --clause: #eef4fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.6 "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC",
  "Microsoft YaHei", system-ui, sans-serif; color: var(--ink); background: #fff; }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus, summary:focus {
  outline: 3px solid #f2a900; outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 2; }
header.site { display: flex; justify-content: space-between; align-items: center;
  padding: .75rem 1.5rem; border-bottom: 1px solid var(--line); }
header.site p { margin: 0; font-weight: 700; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; } h3 { font-size: 1.1rem;
  border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
form.claim, form.settled { border: 1px solid var(--line); border-radius: 6px; padding: 1rem;
  margin: 1rem 0; }
label { display: block; font-weight: 600; margin-top: .75rem; }
textarea { width: 100%; min-height: 12rem; font: 14px/1.4 ui-monospace, monospace; }
input, select, textarea, button { font-size: 1rem; padding: .35rem; }
button { background: var(--accent); color: #fff; border: 0; border-radius: 4px;
  padding: .5rem 1.25rem; margin-top: 1rem; cursor: pointer; }
.row { display: flex; gap: 1.5rem; flex-wrap: wrap; }
.decision { font-size: 1.15rem; padding: .5rem .75rem; border-left: 6px solid; }
.decision-pay { border-color: var(--pay); color: var(--pay); }
.decision-partial { border-color: var(--partial); color: var(--partial); }
.decision-reject { border-color: var(--reject); color: var(--reject); }
.decision-review { border-color: var(--review); color: var(--review); }
ul.account { list-style: none; padding: 0; margin: 0; }
ul.account li { margin: .15rem 0; }
.indent-1 { padding-left: 1.5rem; } .indent-2 { padding-left: 3rem; }
.indent-3 { padding-left: 4.5rem; } .indent-4 { padding-left: 6rem; }
.style-bold { font-weight: 700; } .style-dim { color: var(--muted); }
.style-yellow { color: var(--partial); } .style-red { color: var(--reject); }
.rule-line { font-family: ui-monospace, monospace; font-size: .9rem; }
table.money { border-collapse: collapse; margin: 1rem 0; min-width: 22rem; }
table.money caption { text-align: left; font-weight: 700; padding: .25rem 0; }
table.money th, table.money td { border: 1px solid var(--line); padding: .3rem .75rem; }
table.money td { text-align: right; font-variant-numeric: tabular-nums; }
table.money th[scope="row"] { text-align: left; font-weight: 600; }
.alert { border: 2px solid var(--reject); padding: .75rem 1rem; border-radius: 6px; }
.alert code { font-weight: 700; }
.document { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; }
.doc-line { white-space: pre-wrap; margin: 0; padding: 0 .25rem; min-height: 1.2em; }
.doc-line.in-clause { background: var(--clause); border-left: 4px solid var(--accent); }
mark { background: var(--mark); color: inherit; padding: 0 .1rem; outline: 1px solid #b58b00; }
.source-line { font-family: ui-monospace, monospace; white-space: pre-wrap; margin: 0; }
.source-line.hit { background: var(--mark); }
footer { color: var(--muted); font-size: .85rem; border-top: 1px solid var(--line);
  padding: 1rem 1.5rem; word-break: break-all; }
@media print {
  .no-print, form, nav, .skip { display: none !important; }
  a { color: inherit; text-decoration: none; }
  main { max-width: none; padding: 0; }
  .doc-line.in-clause { border-left: 3px solid #000; }
}
"""
