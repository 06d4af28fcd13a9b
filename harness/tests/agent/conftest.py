"""Fixtures for testing the guest agent binary (harness/agent) over --stdio."""
import os
import shutil
import subprocess

import pytest

from agent_proc import AGENT, Agent


@pytest.fixture(scope="session")
def agent_bin():
    """The agent, built if it is not (a build failure is an error of the run, not a skip)."""
    from tunlab.image_linux import build_agent
    build_agent()
    return AGENT


@pytest.fixture
def spawn(agent_bin, tmp_path):
    """spawn(*extra_args, wrap=[]) starts an agent with --stdio; all are stopped after."""
    agents = []

    def _spawn(*extra, wrap=()):
        a = Agent(list(wrap) + [agent_bin, "--stdio"] + list(extra),
                  tmp_path / ("stderr-%d.txt" % len(agents)))
        agents.append(a)
        return a

    yield _spawn
    for a in agents:
        a.close()


@pytest.fixture
def agent(spawn):
    return spawn()


# ---- the Linux backend on this machine, in a private network namespace ----

NETNS_WRAP = ["unshare", "--net", "--mount", "sh", "-c",
              # sysfs must show the new namespace; the mount stays private to it
              'mount -t sysfs sysfs /sys 2>/dev/null; exec "$0" "$@"']


def _tun_unusable_reason(agent_bin):
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun does not exist"
    if os.geteuid() != 0:
        return "needs root (network namespace and TUNSETIFF)"
    if not shutil.which("unshare"):
        return "unshare(1) from util-linux is missing"
    try:
        out = subprocess.run(NETNS_WRAP + [agent_bin, "--stdio"], input=b"TL1 1 open\n",
                             capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        return "agent in a new network namespace did not answer"
    replies = [l for l in out.stdout.splitlines() if l.startswith(b"TL1 1 ")]
    if not replies or not replies[0].startswith(b"TL1 1 ok"):
        return "cannot create a tun device in a network namespace: %r %r" % (
            replies[:1], out.stderr[-200:])
    return None


@pytest.fixture(scope="session")
def tun_usable(agent_bin):
    reason = _tun_unusable_reason(agent_bin)
    if reason:
        pytest.skip("Linux tun unusable here: " + reason)


@pytest.fixture
def tun_agent(spawn, tun_usable):
    """An agent with the Linux backend in its own network namespace."""
    return spawn(wrap=NETNS_WRAP)
