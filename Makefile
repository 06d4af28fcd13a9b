# tunlab's front door. Every target installs what it needs first (scripts/setup-deps.sh,
# idempotent, in tiers: `make check` only the kpi tier's packages; the VM targets also QEMU,
# libvirt, matplotlib and the pinned guest packages), so each works on a fresh Debian machine.
#
#   make run      the main job on the driver under test (DRIVER=ours, a path, stock-<year>=PATH):
#                 on every target that can run here (TARGET=... for one) boot its guest, run a
#                 short session, and on kpi the whole conformance suite; one report, one verdict
#   make test     the whole suite: fast checks, the slow kpi tests (mutant agents, minimizing,
#                 a second conformance run for its captures), then the linux-target suite in QEMU
#   make check    the fast tier (no VM): driver tests over driver/kpi (ASan/UBSan, lost
#                 wakeup, fuzz smoke), harness unit tests, agent protocol tests, kpi target
#   make report   one HTML page (build/report/index.html): the conformance tables with links to
#                 each test's logs and capture, the bench plot, the run's provenance
#                 (make test writes it at its end)
#   make image    build what a target's guests boot (GUEST=linux, the default, or dragonfly)
#   make console  boot a guest and get its console and an agent prompt (CONSOLE_ARGS="--gdb", ...)
#   make deps     install every tier: host packages, and the guest's pinned Debian packages
#                 (guest-image/linux/pins.json; scripts/update-pins.sh moves the pins)
#   make deps-kpi only the fast tier's host packages (what `make check` installs)
#   make bench    the throughput matrix on the linux guest (~5 min under TCG): a table, and
#                 JSON, CSV and a PNG in build/bench/<date-time>/ (BENCH_ARGS=... adds options)
#   make clean    remove build/ (the cache of downloads and guest images stays)
#   make distclean  also remove tunlab's cache (~/.cache/tunlab, or $TUNLAB_CACHE): the guest
#                 .debs, the DragonFly ISO and the built images

PYTHON  := /usr/bin/python3
export PYTHONPATH := $(CURDIR)/harness
PYTEST  := $(PYTHON) -m pytest
TUNLAB  := $(PYTHON) -m tunlab
GUEST   ?= linux
TARGET  ?=
DRIVER  ?= ours
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: all deps deps-kpi agent image check test test-linux run console clean distclean bench report

all: check

deps:
	@sh scripts/setup-deps.sh all

deps-kpi:
	@sh scripts/setup-deps.sh kpi

agent: deps-kpi
	@$(MAKE) -s -C harness/agent BACKEND=linux

image: deps
	@[ "$(GUEST)" = dragonfly ] || $(MAKE) -s agent
	@$(TUNLAB) image --target $(GUEST)

check: deps-kpi agent
	$(MAKE) -s -f driver/Makefile.host test fuzz-smoke
	$(PYTEST) -q harness/tests/unit harness/tests/agent harness/tests/dragonfly $(PYTEST_ARGS)
	sh scripts/check-agent-dfly.sh
	sh scripts/check-kmod-dfly.sh
	sh scripts/bench-gate.sh
	$(PYTEST) -q -m "not vm" harness/tests/bench $(PYTEST_ARGS)
	$(PYTEST) -q --target kpi -m "not slow" harness/tests/kpi harness/tests/conformance $(PYTEST_ARGS)

test: check deps
	$(PYTEST) -q --target kpi -m slow harness/tests/kpi $(PYTEST_ARGS)
	$(PYTEST) -q --target dragonfly harness/tests/conformance $(PYTEST_ARGS)
	$(PYTEST) -q --target dragonfly --driver stock harness/tests/conformance $(PYTEST_ARGS)
	$(TUNLAB) conformance-summary build/conformance/kpi-ours.json build/conformance/dragonfly-ours.json \
		build/conformance/dragonfly-stock.json
	$(PYTEST) -q --target linux harness/tests/linux harness/tests/selftest $(PYTEST_ARGS)
	$(PYTEST) -q --target linux --backend libvirt harness/tests/linux harness/tests/selftest harness/tests/libvirt $(PYTEST_ARGS)
	$(PYTEST) -q --target linux -m vm harness/tests/bench $(PYTEST_ARGS)
	$(TUNLAB) report

report:
	@$(TUNLAB) report

run: image
	@$(TUNLAB) run $(if $(TARGET),--target $(TARGET)) --driver $(DRIVER)

console: image
	@$(TUNLAB) console --target $(or $(TARGET),linux) --driver $(DRIVER) $(CONSOLE_ARGS)

bench: image
	@$(TUNLAB) bench --target $(or $(TARGET),linux) --driver $(DRIVER) --reps 5 --ms 1000 $(BENCH_ARGS)

clean:
	rm -rf build

distclean: clean
	@$(PYTHON) -m tunlab.paths remove-cache
