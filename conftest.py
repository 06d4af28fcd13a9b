# Loads tunlab's pytest plugins (harness/tunlab/) for every suite in the tree: fixtures and
# options, and the TUN-SPEC row bookkeeping of the conformance suite.
pytest_plugins = ["tunlab.pytest_plugin", "tunlab.conformance"]
