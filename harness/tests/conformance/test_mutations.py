"""The conformance suite can fail: copies of driver/if_tun.c with one fix undone each are built
into kpi agents, and the row's conformance test must fail against them (and pass against the
real driver). driver/if_tun.c itself is never touched.

  W4  on an unsupported family, free only the last mbuf of the chain (the stock bug)
  L3  never give the unit number back at close (the 2010 driver's `#if 0`)
  O6  drop the serializer, then tsleep() without tsleep_interlock()/PINTERLOCKED (the
      stock driver's lost-wakeup window)

Each mutation is a textual patch that must match exactly once, or the test fails saying
the driver changed under it. The mutants share one build directory, so driver/kpi is
compiled once (about 5 s) and each mutant costs a compile of if_tun.c and a link.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tunlab.paths import REPO

pytestmark = [pytest.mark.target("kpi"), pytest.mark.mutation]

DRIVER = REPO / "driver"
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Mutation:
    row: str
    test: str          # node id under harness/tests/conformance
    old: str           # text of driver/if_tun.c, matched exactly once
    new: str
    expect: str        # what the failing test must say


MUTATIONS = {
    "W4": Mutation(
        row="W4",
        test="test_input.py::test_W4_unsupported_family_is_eafnosupport_and_frees_the_whole_chain",
        old="""		/* The whole chain, not just its first mbuf. */
		m_freem(m);
		IFNET_STAT_INC(ifp, noproto, 1);
		return (EAFNOSUPPORT);""",
        new="""		/* MUTATION W4: free only the last mbuf of the chain. */
		{
			struct mbuf *last = m;

			while (last->m_next != NULL)
				last = last->m_next;
			m_free(last);
		}
		IFNET_STAT_INC(ifp, noproto, 1);
		return (EAFNOSUPPORT);""",
        expect="counts grew"),
    "L3": Mutation(
        row="L3",
        test="test_lifecycle.py::test_L3_close_frees_the_unit_1000_opens_give_the_same_unit",
        old="""	/* Only now may a new open of /dev/tun get this unit again. */
	devfs_clone_bitmap_put(&DEVFS_CLONE_BITMAP(tun), unit);
""",
        new="""	/* MUTATION L3: the unit number is never given back. */
	(void)unit;
""",
        expect="1000 open/close cycles used 1000 units"),
    "O6": Mutation(
        row="O6",
        test="test_output.py::test_O6_no_lost_wakeup_in_100000_single_packet_round_trips",
        old="""		tsleep_interlock(sc, PCATCH);
		ifnet_deserialize_all(ifp);
		error = tsleep(sc, PCATCH | PINTERLOCKED, "tunread", 0);""",
        new="""		/* MUTATION O6: sleep without the interlock. */
		ifnet_deserialize_all(ifp);
		error = tsleep(sc, PCATCH, "tunread", 0);""",
        expect="lost wakeup after"),
}


def _mutate(name: str, m: Mutation, where: Path) -> Path:
    where.mkdir(parents=True)
    for f in ("if_tun.h", "if_tunvar.h"):
        shutil.copy2(DRIVER / f, where / f)
    text = (DRIVER / "if_tun.c").read_text()
    found = text.count(m.old)
    if found != 1:
        pytest.fail(f"mutation {name}: its pattern occurs {found} times in driver/if_tun.c "
                    f"(want once); the driver changed, update MUTATIONS in {Path(__file__).name}:\n"
                    f"{m.old}")
    src = where / "if_tun.c"
    src.write_text(text.replace(m.old, m.new))
    return src


@pytest.fixture(scope="module")
def mutants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> a kpi agent (ASan/UBSan) built from driver/if_tun.c with that mutation."""
    root = tmp_path_factory.mktemp("mutants")
    build = root / "build"
    agents = {}
    for name, m in MUTATIONS.items():
        src = _mutate(name, m, root / name)
        target = build / "agent" / "tunlab-agent-kpi-san"
        res = subprocess.run(["make", "-s", "-C", str(REPO), "-f", "driver/Makefile.host",
                              f"DRIVER_SRC={src}", f"BUILD={build}", str(target)],
                             capture_output=True, text=True)
        assert res.returncode == 0 and target.exists(), \
            f"building the {name} mutant failed:\n{res.stdout[-3000:]}{res.stderr[-3000:]}"
        agents[name] = root / name / "tunlab-agent-kpi-san"
        shutil.copy2(target, agents[name])
    return agents


def _run(tests: list[str], tmp: Path, agent: Path | None) -> subprocess.CompletedProcess[str]:
    """The tests through a kpi agent: a mutant's (prebuilt, named by TUNLAB_KPI_AGENT, with
    --driver naming its source so that the agent's driver= checks out), or ours."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "harness"))
    env.pop("TUNLAB_KPI_AGENT", None)
    env.pop("TUNLAB_DRIVER", None)
    driver = []
    if agent is not None:
        env["TUNLAB_KPI_AGENT"] = str(agent)
        driver = ["--driver", str(agent.parent)]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--target", "kpi",
           *driver, "--tunlab-logs", str(tmp / "logs"), "--conformance-json", str(tmp / "rows.json"),
           *[str(HERE / t) for t in tests]]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_the_rows_test_fails_against_the_mutated_driver(name: str, mutants, tmp_path: Path):
    m = MUTATIONS[name]
    res = _run([m.test], tmp_path, mutants[name])
    out = res.stdout + res.stderr
    assert res.returncode == 1 and "1 failed" in out, \
        f"the {name} mutant was not caught by {m.test}:\n{out[-4000:]}"
    assert m.expect in out, f"the {name} mutant failed, but not as expected ({m.expect!r}):\n" \
                            f"{out[-4000:]}"


def test_the_same_tests_pass_against_the_real_driver(tmp_path: Path):
    tests = [m.test for m in MUTATIONS.values()]
    res = _run(tests, tmp_path, None)
    out = res.stdout + res.stderr
    assert res.returncode == 0 and f"{len(tests)} passed" in out, out[-4000:]
