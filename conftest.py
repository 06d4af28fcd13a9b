# Loads tunlab's pytest plugin (harness/tunlab/pytest_plugin.py) for every suite in the tree.
pytest_plugins = ["tunlab.pytest_plugin"]
