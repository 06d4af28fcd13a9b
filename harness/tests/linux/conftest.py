import pytest


def pytest_collection_modifyitems(items):
    # Everything here exercises Linux's own tun in the linux guest.
    for item in items:
        if "harness/tests/linux/" in str(item.fspath):
            item.add_marker(pytest.mark.target("linux"))
