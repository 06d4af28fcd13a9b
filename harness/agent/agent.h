/*
 * agent.h - what the agent's verb handlers share: start-up options, the error-reply helper
 * for system errors, and the handlers the dispatch table in agent.c names.
 */
#ifndef TUNLAB_AGENT_H
#define TUNLAB_AGENT_H

#include "protocol.h"

#define AGENT_VERSION	"1.0.0"

/*
 * The tun driver this build drives, as hello's driver= reports it: the kpi build names the
 * driver source it linked (name:sha), the Linux backend the kernel's own tun; a DragonFly
 * guest's session passes --driver-id for the module it loaded.
 */
#ifndef TUNLAB_DRIVER_ID
#define TUNLAB_DRIVER_ID	"unknown"
#endif

struct agent_opts {
	int guest;		/* serving a guest port (--port): poweroff/panic are real */
	int allow_panic;	/* --allow-panic: debug op=panic also under --stdio */
	const char *console;	/* where the poweroff sentinel goes; NULL: stderr */
	const char *driver_id;	/* hello's driver=: --driver-id, else TUNLAB_DRIVER_ID */
	const char *features;	/* the driver's features: --features, else TUNLAB_DRIVER_FEATURES */
};
extern struct agent_opts agent_opts;

/*
 * The tun features of the driver under test (docs/protocol.md, "Driver features"): a
 * comma-separated list read from the driver's source when it was built, never probed at
 * run time.  The kpi build bakes its driver's list in; --features overrides it.  "all"
 * (the default where nobody said): today's driver, every feature.
 */
#ifndef TUNLAB_DRIVER_FEATURES
#define TUNLAB_DRIVER_FEATURES	"all"
#endif
/* agent_feature() (backend.h) answers from agent_opts.features. */

/* Comma-separated list of the verbs the agent serves (hello's caps=). */
const char *agent_caps(void);

/* Run once the current reply has been sent (poweroff sets it). */
extern void (*agent_after_reply)(void);

/* Builds the error reply for a failed system operation: the errno's name, errno=, and
 * msg=<what>[: <what the backend said>]. Returns -1. */
int fail_errno(const struct request *rq, int err, const char *what);

struct be_ioctl_desc;
/* The backend's ioctl named `name` (e.g. "FIONREAD"), or NULL. (verb_ioctl.c) */
const struct be_ioctl_desc *ioctl_find(const char *name);

/* Verb handlers: build the reply (ok with keys, or err) and return 0 or -1. */
typedef int verb_fn(const struct request *rq);

verb_fn verb_hello, verb_nop, verb_poweroff, verb_debug;		/* verb_session.c */
verb_fn verb_open, verb_close, verb_read, verb_write, verb_poll;		/* verb_device.c */
verb_fn verb_ioctl;							/* verb_ioctl.c */
verb_fn verb_ifconfig, verb_ifinfo, verb_route, verb_stats;		/* verb_iface.c */
verb_fn verb_bench;							/* bench.c */
verb_fn verb_benchenv;						/* bench.c */
verb_fn verb_kq, verb_bpf, verb_proc, verb_send, verb_module, verb_sysctl,
    verb_stat, verb_kstat, verb_writes;					/* verb_kernel.c */
verb_fn verb_roundtrip, verb_race;					/* verb_roundtrip.c */
verb_fn verb_cov;							/* verb_cov.c */

#endif /* TUNLAB_AGENT_H */
