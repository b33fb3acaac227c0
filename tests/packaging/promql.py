"""Just enough PromQL reading for tests: the metric names a query selects, and bracket balance."""

from __future__ import annotations

import re

_FUNCTIONS_AND_KEYWORDS = {
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "histogram_quantile",
    "label_values",
    "clamp_min",
    "clamp_max",
    "abs",
    "ceil",
    "floor",
    "round",
    "time",
    "vector",
    "scalar",
    "absent",
    "sort",
    "sort_desc",
    "avg_over_time",
    "max_over_time",
    "min_over_time",
    "sum_over_time",
    "count_over_time",
    "changes",
    "resets",
    "label_replace",
    "label_join",
    "predict_linear",
    "timestamp",
    "inf",
    "nan",
}
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """Metric names selected by ``expr`` (label matchers, grouping labels, strings and functions removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+", " ", text)
    names = set()
    for match in _IDENT.finditer(text):
        name = match.group(0)
        following = text[match.end() :].lstrip()[:1]
        if name in _FUNCTIONS_AND_KEYWORDS or following == "(" or re.fullmatch(r"\d.*", name):
            continue
        names.add(name)
    return names


def balanced(expr: str) -> bool:
    """True when (), {} and [] nest correctly outside string literals."""
    pairs = {")": "(", "}": "{", "]": "["}
    stack: list[str] = []
    for ch in re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr):
        if ch in "({[":
            stack.append(ch)
        elif ch in pairs and (not stack or stack.pop() != pairs[ch]):
            return False
    return not stack
