/*
 * agent.c - tunlab-agent's main program: options, the control channel (a serial port or
 * stdin/stdout), the start-up log frame, and the loop that reads requests and dispatches
 * them to the verb handlers.
 *
 *	tunlab-agent --port /dev/ttyS1 [--console /dev/console]	(in a guest)
 *	tunlab-agent --stdio [--console PATH] [--allow-panic]		(tests, kpi target)
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "backend.h"
#include "errnames.h"

struct agent_opts agent_opts;
void (*agent_after_reply)(void);

static const struct verb {
	const char *name;
	verb_fn *fn;
	const char *keys;	/* the arguments it accepts */
} verbs[] = {
	{ "hello", verb_hello, "" },
	{ "nop", verb_nop, "" },
	{ "open", verb_open, "name,pi,tap,nonblock,uid,gid" },
	{ "close", verb_close, "h" },
	{ "ifconfig", verb_ifconfig, "ifname,addr,peer,addr6,mtu,up" },
	{ "ifinfo", verb_ifinfo, "ifname" },
	{ "route", verb_route, "op,dst,ifname" },
	{ "ioctl", verb_ioctl, "h,ifname,req,value,name,flags,mtu,type,baudrate" },
	{ "write", verb_write, "h,data" },
	{ "read", verb_read, "h,max,wait_ms" },
	{ "poll", verb_poll, "h,wait_ms" },
	{ "stats", verb_stats, "ifname" },
	{ "bench", verb_bench, "h,kind,size,ms,local,peer,bpf,loop" },
	{ "benchenv", verb_benchenv, "" },
	{ "poweroff", verb_poweroff, "" },
	{ "debug", verb_debug, "op,ms" },
	/* instruments for the conformance suite (verb_kernel.c, verb_roundtrip.c) */
	{ "kq", verb_kq, "op,kq,h,filter,wait_ms" },
	{ "bpf", verb_bpf, "op,b,ifname,data,max,wait_ms" },
	{ "proc", verb_proc, "" },
	{ "send", verb_send, "dst,port,size,count" },
	{ "module", verb_module, "op,name" },
	{ "sysctl", verb_sysctl, "name,value" },
	{ "stat", verb_stat, "path" },
	{ "kstat", verb_kstat, "" },
	{ "writes", verb_writes, "h,data,count" },
	{ "roundtrip", verb_roundtrip, "h,count,local,peer,lost_ms,stall_ms,preempt_us" },
	{ "race", verb_race, "kind,ms,base" },
	{ "cov", verb_cov, "op" },
};
#define NVERBS	(sizeof(verbs) / sizeof(verbs[0]))

const char *
agent_caps(void)
{
	static char caps[256];

	if (!caps[0]) {
		for (size_t i = 0; i < NVERBS; i++) {
			if (i > 0)
				strcat(caps, ",");
			strcat(caps, verbs[i].name);
		}
	}
	return caps;
}

/* ---- services for the backend (backend.h) ---- */

/* Per thread: the roundtrip and race verbs run backend operations in threads of their own. */
static _Thread_local char errmsg[256];

void
agent_log(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	proto_log(buf);
}

void
agent_errmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
}

int
fail_errno(const struct request *rq, int err, const char *what)
{
	if (errmsg[0])
		return reply_err(rq->id, errno_name(err), err, "%s: %s", what, errmsg);
	return reply_err(rq->id, errno_name(err), err, "%s", what);
}

/* ---- serving ---- */

static void
dispatch(const struct request *rq)
{
	const struct verb *v = NULL;

	for (size_t i = 0; i < NVERBS; i++)
		if (strcmp(verbs[i].name, rq->verb) == 0)
			v = &verbs[i];
	if (!v) {
		reply_err(rq->id, "ENOVERB", 0, "unknown verb %s", rq->verb);
		return;
	}
	if (args_check_known(rq, v->keys) < 0)
		return;
	errmsg[0] = '\0';
	reply_ok(rq->id);
	(void)v->fn(rq);
}

static void
serve(int in, int is_stdio)
{
	for (;;) {
		struct request rq;
		const char *why;
		char *line;
		size_t len;
		long id = 0;

		agent_after_reply = NULL;
		switch (frame_read(in, &line, &len, &id)) {
		case FRAME_EOF:
			if (is_stdio)
				exit(0);
			/* a serial port with nothing to say: look again shortly */
			nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
			continue;
		case FRAME_IO_ERROR:
			if (is_stdio) {
				perror("tunlab-agent: read");
				exit(1);
			}
			agent_log("read: %s; retrying", errno_name(errno));
			nanosleep(&(struct timespec){ 0, 200 * 1000000L }, NULL);
			continue;
		case FRAME_TOO_LONG:
			reply_err(id, "E2BIG", 0, "frame longer than %d bytes discarded",
			    MAX_FRAME);
			break;
		case FRAME_LINE:
			if (request_parse(line, len, &rq, &why) < 0)
				reply_err(rq.id, "EPROTO", 0, "%s", why);
			else
				dispatch(&rq);
			break;
		}
		if (reply_send() < 0) {
			if (is_stdio)
				exit(0);	/* the host went away */
			continue;
		}
		if (agent_after_reply)
			agent_after_reply();
	}
}

/* Opens a serial port raw at 115200 baud, 8N1, ignoring modem lines. */
static int
open_port(const char *path)
{
	struct termios t;
	int fd, fl;

	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 || tcgetattr(fd, &t) < 0)
		goto fail;
	cfmakeraw(&t);
	cfsetspeed(&t, B115200);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tunlab-agent --port DEVICE [--console PATH] [--driver-id ID]\n"
	    "                    [--features LIST] [--ack N]\n"
	    "       tunlab-agent --stdio [--console PATH] [--allow-panic] [--driver-id ID]\n"
	    "                    [--features LIST] [--ack N]\n"
	    "Serves the tunlab control protocol v1 (docs/protocol.md) on a serial port\n"
	    "or on stdin/stdout. --console: where `poweroff` writes TUNLAB-POWEROFF\n"
	    "(default /dev/console with --port, stderr with --stdio). --driver-id: the\n"
	    "tun driver this agent drives, as hello reports it (name:sha; default: the\n"
	    "one the build named). --features: the driver's features, comma-separated\n"
	    "(docs/protocol.md; \"none\" for none; default: the build's, else \"all\").\n"
	    "--ack N: write an ACK byte (0x06) after every N bytes read, for a host that\n"
	    "paces its input (QEMU's record mode; 0: none, the default).\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *port = NULL;
	int is_stdio = 0, in, out, err;
	long long ack = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = argv[++i];
		else if (strcmp(argv[i], "--stdio") == 0)
			is_stdio = 1;
		else if (strcmp(argv[i], "--console") == 0 && i + 1 < argc)
			agent_opts.console = argv[++i];
		else if (strcmp(argv[i], "--allow-panic") == 0)
			agent_opts.allow_panic = 1;
		else if (strcmp(argv[i], "--driver-id") == 0 && i + 1 < argc &&
		    is_word(argv[i + 1]))
			agent_opts.driver_id = argv[++i];
		else if (strcmp(argv[i], "--features") == 0 && i + 1 < argc &&
		    is_word(argv[i + 1]))
			agent_opts.features = argv[++i];
		else if (strcmp(argv[i], "--ack") == 0 && i + 1 < argc &&
		    parse_int(argv[i + 1], &ack) == 0 && ack >= 0 && ack <= 4096)
			i++;
		else
			usage();
	}
	if (!!port == is_stdio)
		usage();
	if (!agent_opts.driver_id)
		agent_opts.driver_id = TUNLAB_DRIVER_ID;
	if (!agent_opts.features)
		agent_opts.features = TUNLAB_DRIVER_FEATURES;

	signal(SIGPIPE, SIG_IGN);
	if (port) {
		signal(SIGHUP, SIG_IGN);
		in = out = open_port(port);
		if (in < 0) {
			fprintf(stderr, "tunlab-agent: %s: %s\n", port, strerror(errno));
			return 1;
		}
		agent_opts.guest = 1;
		agent_opts.allow_panic = 1;
		if (!agent_opts.console)
			agent_opts.console = "/dev/console";
	} else {
		in = 0;
		out = 1;
	}
	proto_set_output(out);
	proto_set_ack((size_t)ack);

	err = be_init();
	if (err)
		agent_log("backend %s: init failed: %s %s", be_name(), errno_name(err),
		    errmsg);
	agent_log("tunlab-agent ready version=%s backend=%s proto=1 max_frame=%d",
	    AGENT_VERSION, be_name(), MAX_FRAME);
	serve(in, is_stdio);
	return 0;
}
