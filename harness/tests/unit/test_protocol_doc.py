"""docs/protocol.md's verb table says what the agent serves: the same verbs as agent.c's
dispatch table, each with the same argument keys."""

import re

from tunlab.paths import REPO

AGENT_C = REPO / "harness" / "agent" / "agent.c"
PROTOCOL_MD = REPO / "docs" / "protocol.md"


def agent_verbs() -> dict[str, set[str]]:
    """verb -> allowed argument keys, from agent.c's `{ "verb", verb_fn, "k1,k2" }` lines."""
    table = re.findall(r'\{\s*"(\w+)",\s*verb_\w+,\s*"([\w,]*)"\s*\}', AGENT_C.read_text())
    return {verb: set(filter(None, keys.split(","))) for verb, keys in table}


def doc_verbs() -> dict[str, set[str]]:
    """verb -> the argument keys its row of the doc's verb table names (`key=`)."""
    verbs = {}
    for line in PROTOCOL_MD.read_text().splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)]  # cells may hold \|
        if len(cells) == 5 and re.fullmatch(r"`[a-z]\w*`", cells[1]):
            verbs[cells[1].strip("`")] = set(re.findall(r"\b(\w+)=", cells[2]))
    return verbs


def test_the_doc_lists_every_verb_the_agent_serves_and_no_other():
    agent, doc = agent_verbs(), doc_verbs()
    assert len(agent) > 20  # the parse found the table
    assert set(doc) == set(agent), (f"only in agent.c: {sorted(set(agent) - set(doc))}; "
                                    f"only in docs/protocol.md: {sorted(set(doc) - set(agent))}")


def test_each_verb_takes_the_arguments_the_doc_names():
    agent, doc = agent_verbs(), doc_verbs()
    wrong = {v: {"agent only": sorted(agent[v] - doc[v]), "doc only": sorted(doc[v] - agent[v])}
             for v in agent if v in doc and agent[v] != doc[v]}
    assert not wrong, wrong
