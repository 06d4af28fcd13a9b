"""The pipelines in ci/ run as shipped: valid YAML, every `make` target they run exists in the
Makefile, every repository path they name exists, jobs that run tunlab's set-up run in a Debian
container (the set-up installs Debian packages; the guest's are pinned Debian .debs), and what
they cache is where tunlab keeps it."""

import glob
import re
import shlex
from pathlib import Path

import pytest
import yaml  # python3-yaml: make deps-kpi installs it

from tunlab import dragonfly_media, image_dragonfly, paths
from tunlab.paths import REPO

PIPELINES = sorted((REPO / "ci").glob("*.yml"))
PATH_RE = re.compile(r"(?<![\w./-])((?:scripts|harness|guest-image|driver|ci|docs|\.ci)/[\w./*-]+)")


def make_targets() -> set[str]:
    return {m.group(1) for line in (REPO / "Makefile").read_text().splitlines()
            if (m := re.match(r"^([\w.-]+):(?!=)", line))}


def make_goals(script: str) -> list[str]:
    """The goals of every `make` command in a shell script (options and VAR=value left out) that
    runs the repository's Makefile (not `make -C dir` or `make -f file`)."""
    goals = []
    for line in script.replace("\\\n", " ").splitlines():
        for cmd in re.split(r"&&|\|\||;|\|", line):
            try:
                words = shlex.split(cmd)
            except ValueError:
                words = cmd.split()
            if words and words[0] == "make" and not {"-C", "-f"} & set(words):
                goals += [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    return goals


def problems(doc: dict) -> list[str]:
    """What would stop a pipeline (a loaded GitHub Actions workflow) as shipped."""
    out = []
    targets = make_targets()
    env = {**(doc.get("env") or {})}
    if not doc.get("jobs"):
        return ["no jobs"]
    for name, job in doc["jobs"].items():
        jenv = {**env, **(job.get("env") or {})}
        steps = job.get("steps") or []
        runs = [s.get("run", "") for s in steps]
        for script in runs:
            for goal in make_goals(script):
                if goal not in targets:
                    out.append(f"{name}: `make {goal}`: no such target in the Makefile")
        texts = runs + [str(v) for v in jenv.values()] + \
            [str(v) for s in steps for v in (s.get("with") or {}).values()]
        for text in texts:
            for p in PATH_RE.findall(text):
                if not glob.glob(str(REPO / p)):
                    out.append(f"{name}: {p} does not exist")
        if any(make_goals(r) for r in runs):
            image = str((job.get("container") or {}).get("image", "") if isinstance(job.get("container"), dict)
                        else job.get("container") or "")
            if not image.startswith("debian:"):
                out.append(f"{name}: runs tunlab's set-up on {job.get('runs-on')} without a Debian "
                           "container (its packages are Debian's)")
            first_make = next(i for i, r in enumerate(runs) if make_goals(r))
            if not any(re.search(r"apt-get install.*\bmake\b", r, re.S) for r in runs[:first_make]):
                out.append(f"{name}: make is not installed before the first `make` (a bare container)")
        cache_root = jenv.get("TUNLAB_CACHE")
        for s in steps:
            if str(s.get("uses", "")).startswith("actions/cache") and cache_root:
                where = Path(s["with"]["path"])
                if where.parts[0] != cache_root and not str(where).startswith("build/"):
                    out.append(f"{name}: caches {where}, outside TUNLAB_CACHE={cache_root}")
                elif where.parts[0] == cache_root:
                    rel = where.relative_to(cache_root)
                    known = {d.relative_to(paths.CACHE) for d in (dragonfly_media.ISO_CACHE, image_dragonfly.IMAGES)}
                    if rel not in known:
                        out.append(f"{name}: caches {where}, which tunlab does not write "
                                   f"(its parts there: {sorted(map(str, known))})")
            if str(s.get("uses", "")) and not re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", str(s["uses"])):
                out.append(f"{name}: uses {s['uses']!r}: not owner/action@vN")
    return out


def test_there_are_pipelines():
    assert {p.name for p in PIPELINES} >= {"github-actions-dragonfly.yml", "github-actions-check.yml"}


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda p: p.name)
def test_pipeline_runs_as_shipped(pipeline):
    doc = yaml.safe_load(pipeline.read_text())
    assert isinstance(doc, dict) and doc.get("name"), "not a workflow"
    assert problems(doc) == []


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda p: p.name)
def test_pipeline_is_listed_in_ci_readme(pipeline):
    assert f"`{pipeline.name}`" in (REPO / "ci" / "README.md").read_text()


def test_the_check_pipeline_runs_make_check_and_the_dragonfly_one_make_deps():
    goals = {p.name: [g for s in yaml.safe_load(p.read_text())["jobs"].values()
                      for st in s["steps"] for g in make_goals(st.get("run", ""))] for p in PIPELINES}
    assert goals["github-actions-check.yml"] == ["check"]
    assert goals["github-actions-dragonfly.yml"][:2] == ["deps", "image"]


def test_the_checks_find_what_would_stop_a_pipeline():
    """Today's ubuntu pipeline before the fix, and other breakage, is caught."""
    broken = {"env": {"TUNLAB_CACHE": ".c", "SUITE": "harness/tests/nowhere"}, "jobs": {"j": {
        "runs-on": "ubuntu-24.04",
        "steps": [{"uses": "actions/checkout@v4"},
                  {"run": "make deps && make -s chek TARGET=kpi"},
                  {"run": "sh scripts/no-such-script.sh"},
                  {"uses": "actions/cache@v4", "with": {"path": ".c/isos", "key": "k"}},
                  {"uses": "some/action@main"}]}}}
    found = "\n".join(problems(broken))
    assert "`make chek`: no such target" in found
    assert "`make deps`" not in found  # a real target
    assert "scripts/no-such-script.sh does not exist" in found
    assert "harness/tests/nowhere does not exist" in found
    assert "without a Debian container" in found
    assert "make is not installed before the first `make`" in found
    assert "caches .c/isos, which tunlab does not write" in found
    assert "uses 'some/action@main'" in found


def test_make_goals_reads_shell_lines():
    assert make_goals("make deps\nmake -s image GUEST=dragonfly RELEASE=$R && make -C x all") == ["deps", "image"]
    assert make_goals("PYTHONPATH=harness python3 -m pytest -q \\\n  --target dragonfly") == []
