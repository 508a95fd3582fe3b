"""A workflow's graph (Glue's Graph of TRIGGER, CRAWLER and JOB nodes), printed as an
indented tree or as Graphviz DOT. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from engine.orchestrate.definitions import CONDITIONAL, Flow, TriggerDefinition
from engine.vocabulary import RunState


def _label(name: str, trigger: TriggerDefinition) -> str:
    if trigger.type == CONDITIONAL:
        assert trigger.predicate is not None
        logical = "ANY" if trigger.predicate.is_any else "ALL"
        watched = ", ".join(f"{c.node}={c.state}" for c in trigger.predicate.conditions)
        return f"trigger {name} [{logical} of {watched}]"
    if trigger.schedule is not None:
        return f"trigger {name} [schedule {trigger.schedule} {trigger.timezone}]"
    return f"trigger {name} [on demand]"


def _watchers(flow: Flow) -> dict[str, list[str]]:
    """node → the conditional triggers that watch it."""
    watching: dict[str, list[str]] = {}
    for name, trigger in flow.triggers.items():
        for condition in trigger.predicate.conditions if trigger.predicate else ():
            watching.setdefault(condition.node, [])
            if name not in watching[condition.node]:
                watching[condition.node].append(name)
    return watching


def tree_lines(flow: Flow, states: Mapping[str, str] | None = None) -> list[str]:
    """The graph from the start trigger down; a trigger reached twice (ALL over
    several nodes) is printed once and referred to after."""
    states = states or {}
    watching = _watchers(flow)
    lines: list[str] = []
    shown: set[str] = set()

    def trigger(name: str, depth: int) -> None:
        pad = "    " * depth
        if name in shown:
            lines.append(f"{pad}└─ trigger {name} (see above)")
            return
        shown.add(name)
        lines.append(f"{pad}└─ {_label(name, flow.triggers[name])}")
        for action in flow.triggers[name].actions:
            state = f"  {states[action.node]}" if action.node in states else ""
            lines.append(f"{pad}    └─ {action.node}{state}")
            for after in watching.get(action.node, []):
                trigger(after, depth + 2)

    trigger(flow.start, 0)
    return [line.removeprefix("└─ ") if i == 0 else line for i, line in enumerate(lines)]


def dot(flow: Flow, states: Mapping[str, str] | None = None) -> str:
    """Graphviz DOT: box nodes for actions, ellipses for triggers, edges as Glue's."""
    states = states or {}
    colours: dict[str, str] = {
        RunState.SUCCEEDED: "palegreen",
        RunState.FAILED: "salmon",
        RunState.TIMEOUT: "salmon",
        RunState.STOPPED: "khaki",
        RunState.RUNNING: "lightblue",
        RunState.STARTING: "lightblue",
    }
    out = [f'digraph "{flow.name}" {{', "  rankdir=LR;"]
    for name, trigger in flow.triggers.items():
        label = _label(name, trigger).replace('"', "'")
        out.append(f'  "trigger:{name}" [shape=ellipse, label="{label}"];')
    for node in flow.nodes():
        state = states.get(node)
        style = f", style=filled, fillcolor={colours[state]}" if state in colours else ""
        label = f"{node}\\n{state}" if state else node
        out.append(f'  "{node}" [shape=box, label="{label}"{style}];')
    for name, trigger in flow.triggers.items():
        for action in trigger.actions:
            out.append(f'  "trigger:{name}" -> "{action.node}";')
        for condition in trigger.predicate.conditions if trigger.predicate else ():
            out.append(f'  "{condition.node}" -> "trigger:{name}" [label="{condition.state}"];')
    out.append("}")
    return "\n".join(out)
