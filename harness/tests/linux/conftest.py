import pytest


def pytest_collection_modifyitems(items):
    # Everything here exercises Linux's tun API (the linux target's guest).
    for item in items:
        if "harness/tests/linux/" in str(item.fspath):
            item.add_marker(pytest.mark.tun_api("linux"))
