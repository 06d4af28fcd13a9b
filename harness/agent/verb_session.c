/*
 * verb_session.c - verbs about the agent itself: hello, nop, poweroff, debug.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "args.h"
#include "backend.h"

#define POWEROFF_SENTINEL	"TUNLAB-POWEROFF\n"

int
verb_hello(const struct request *rq)
{
	struct utsname u;
	char os[2 * sizeof(u.release) + 2];

	if (uname(&u) < 0)
		snprintf(os, sizeof(os), "unknown");
	else
		snprintf(os, sizeof(os), "%s-%s", u.sysname, u.release);
	/* keep os= a word */
	for (char *p = os; *p; p++)
		if (!is_word((char[]){ *p, '\0' }))
			*p = '_';
	(void)rq;
	reply_int("proto", 1);
	reply_word("agent", AGENT_VERSION);
	reply_word("backend", be_name());
	reply_word("os", os);
	reply_word("driver", agent_opts.driver_id);
	reply_word("features", agent_opts.features);
	reply_word("caps", agent_caps());
	reply_int("max_frame", MAX_FRAME);
	if (proto_ack_every())
		reply_uint("ack", proto_ack_every());
	return 0;
}

int
agent_feature(const char *name)
{
	return feature_listed(agent_opts.features, name);
}

int
verb_nop(const struct request *rq)
{
	(void)rq;
	return 0;
}

/* After the ok has gone out: the sentinel on the console, then power off. */
static void
poweroff_now(void)
{
	int fd = agent_opts.console ?
	    open(agent_opts.console, O_WRONLY | O_NOCTTY | O_CREAT | O_APPEND, 0644) : dup(2);
	int err;

	proto_drain();		/* the ok must leave the UART before the machine stops */
	if (fd >= 0) {
		(void)!write(fd, POWEROFF_SENTINEL, strlen(POWEROFF_SENTINEL));
		if (isatty(fd))
			(void)tcdrain(fd);
		close(fd);
	}
	if (!agent_opts.guest)
		exit(0);	/* --stdio: the "machine" is this process */
	err = be_poweroff();
	agent_log("poweroff failed: errno %d", err);
}

int
verb_poweroff(const struct request *rq)
{
	(void)rq;
	agent_after_reply = poweroff_now;
	return 0;
}

int
verb_debug(const struct request *rq)
{
	static char garbled[64];
	const char *op;
	long long ms;
	int n, err;

	if (arg_word(rq, "op", &op) < 0)
		return -1;
	if (strcmp(op, "stall") == 0) {
		if (arg_int(rq, "ms", 0, 600000, &ms) < 0)
			return -1;
		nanosleep(&(struct timespec){ (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L },
		    NULL);
		reply_ok(rq->id);
		return 0;
	}
	if (strcmp(op, "garble") == 0) {
		/* a token without '=' and a stray control character */
		n = snprintf(garbled, sizeof(garbled), "TL1 %ld ok bad token\x07\n", rq->id);
		reply_raw(garbled, (size_t)n);
		return 0;
	}
	if (strcmp(op, "panic") == 0) {
		if (!agent_opts.allow_panic)
			return reply_err(rq->id, "EPERM", EPERM,
			    "op=panic refused under --stdio without --allow-panic");
		agent_log("debug: panicking the kernel on request");
		proto_drain();
		err = be_panic();
		return fail_errno(rq, err, "panic");
	}
	return reply_err(rq->id, "EARG", 0, "op: want stall, garble or panic");
}
