"""Per-run log directories are unique, and old ones are pruned by count and size."""

import os
import subprocess
import sys

import pytest

from tunlab import logdirs
from tunlab.errors import SettingError


def _run(parent, name, size=0):
    d = parent / name
    d.mkdir(parents=True)
    (d / "console.log").write_bytes(b"x" * size)
    return d


def test_two_runs_in_the_same_second_get_their_own_directories(tmp_path):
    code = ("import sys; from pathlib import Path; from tunlab import logdirs; "
            "print(logdirs.unique_dir(Path(sys.argv[1])))")
    env = dict(os.environ, PYTHONPATH=str(logdirs.Path(logdirs.__file__).parents[1]))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, env=env)
             for _ in range(4)]
    made = [p.communicate(timeout=60)[0].decode().strip() for p in procs]
    same = [logdirs.unique_dir(tmp_path) for _ in range(20)]
    assert len(set(made) | {str(p) for p in same}) == 24
    assert all(logdirs.RUN_DIR.match(os.path.basename(p)) for p in made)


def test_prune_keeps_the_newest_runs(tmp_path):
    for i in range(10):
        _run(tmp_path, f"2024010{i % 10}-120000-99999999-ab")
    _run(tmp_path, "not-a-run-dir")
    removed = logdirs.prune(tmp_path, runs=3, max_bytes=10**9)
    assert len(removed) == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20240107-120000-99999999-ab", "20240108-120000-99999999-ab", "20240109-120000-99999999-ab", "not-a-run-dir"]


def test_prune_keeps_within_the_size_and_never_the_current_run(tmp_path):
    for i in range(5):
        _run(tmp_path, f"2024010{i}-120000", size=1000)
    current = _run(tmp_path, "20230101-000000-99999999-cd", size=5000)  # older name, but protected
    logdirs.prune(tmp_path, runs=100, max_bytes=7500, protect=current)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["20230101-000000-99999999-cd", "20240103-120000", "20240104-120000"]


def test_prune_spares_a_live_run(tmp_path):
    live = _run(tmp_path, f"20200101-000000-{os.getppid()}-ab")
    _run(tmp_path, "20240101-000000-99999999-ab")
    _run(tmp_path, "20240102-000000-99999999-ab")
    logdirs.prune(tmp_path, runs=1, max_bytes=10**9)
    assert live.exists()


def test_new_run_dir_prunes(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNLAB_KEEP_RUNS", "2")
    for i in range(4):
        _run(tmp_path, f"2020010{i}-000000")
    d = logdirs.new_run_dir(tmp_path, "linux")
    assert d.name.endswith("-linux") and d.exists()
    assert len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize("env,value", [("TUNLAB_KEEP_RUNS", "0"), ("TUNLAB_KEEP_RUNS", "2.5"),
                                       ("TUNLAB_KEEP_RUNS", "many"), ("TUNLAB_KEEP_LOGS_MB", "-1"),
                                       ("TUNLAB_KEEP_LOGS_MB", "inf")])
def test_bad_retention_setting_is_one_line(tmp_path, monkeypatch, env, value):
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingError) as e:
        logdirs.new_run_dir(tmp_path)
    assert "\n" not in str(e.value) and env in str(e.value)
    assert not list(tmp_path.iterdir())  # nothing made
