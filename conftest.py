# Loads the tunlab pytest plugin (harness/tunlab/pytest_plugin.py) for every suite in the tree:
# the run-configuration options, fixtures, and the TUN-SPEC row bookkeeping.
pytest_plugins = ["tunlab.pytest_plugin"]
