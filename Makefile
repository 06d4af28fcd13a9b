# tunlab's front door. Every target installs what it needs first (scripts/setup-deps.sh,
# idempotent), so each works on a fresh Debian machine.
#
#   make run      build the default (linux) guest, boot it, run a short session, print a report
#   make test     the whole suite: fast checks, then the linux-target suite in QEMU
#   make check    the fast tier only: agent build, harness unit tests, agent protocol tests
#   make image    build the guest image (GUEST=linux, the default)
#   make console  boot a guest and get its console and an agent prompt
#   make deps     install host packages and fetch the guest's Debian packages

PYTHON  := /usr/bin/python3
export PYTHONPATH := $(CURDIR)/harness
PYTEST  := $(PYTHON) -m pytest
TUNLAB  := $(PYTHON) -m tunlab
GUEST   ?= linux
PYTEST_ARGS ?=

.PHONY: all deps agent image check test test-linux run console clean

all: check

deps:
	@sh scripts/setup-deps.sh

agent: deps
	@$(MAKE) -s -C harness/agent BACKEND=linux

image: deps
	@[ "$(GUEST)" = dragonfly ] || $(MAKE) -s agent
	@$(TUNLAB) image --guest $(GUEST)

check: deps agent
	$(PYTEST) -q harness/tests/unit harness/tests/agent harness/tests/dragonfly $(PYTEST_ARGS)

test: check
	$(PYTEST) -q --target linux harness/tests/linux harness/tests/selftest $(PYTEST_ARGS)

run: image
	@$(TUNLAB) run

console: image
	@$(TUNLAB) console

clean:
	rm -rf build
