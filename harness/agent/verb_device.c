/*
 * verb_device.c - verbs on tun devices: open, close, read, write.
 */
#include <errno.h>

#include "agent.h"
#include "args.h"
#include "backend.h"

#define READ_MAX		65539	/* TUNMRU 65535 plus a 4-byte header */
#define READ_BLOCKING_WAIT_MS	5000	/* longest wait of a read without wait_ms */
#define WRITE_MAX		((MAX_FRAME - 64) / 2)

int
verb_open(const struct request *rq)
{
	struct be_open_opts o = { 0 };
	char ifname[BE_IFNAMSIZ] = "";
	struct handle *h;
	long long uid, gid;
	int fd, err;

	if (arg_ifname_opt(rq, "name", &o.name) < 0 ||
	    arg_bool_opt(rq, "pi", 0, &o.pi) < 0 ||
	    arg_bool_opt(rq, "tap", 0, &o.tap) < 0 ||
	    arg_bool_opt(rq, "nonblock", 0, &o.nonblock) < 0 ||
	    arg_int_opt(rq, "uid", 0, 0x7fffffff, -1, &uid) < 0 ||
	    arg_int_opt(rq, "gid", 0, 0x7fffffff, uid, &gid) < 0)
		return -1;
	if (uid >= 0) {
		o.as_user = 1;
		o.uid = (unsigned)uid;
		o.gid = (unsigned)(gid >= 0 ? gid : uid);
	} else if (request_get(rq, "gid")) {
		return reply_err(rq->id, "EARG", 0, "gid: only with uid=");
	}
	err = be_open(&o, &fd, ifname);
	if (err)
		return fail_errno(rq, err, "open");
	ifname[BE_IFNAMSIZ - 1] = '\0';
	h = handle_add(fd, ifname);
	if (!h) {
		be_close(fd);
		return reply_err(rq->id, "EMFILE", EMFILE, "open: %d devices already open",
		    MAX_HANDLES);
	}
	reply_int("h", h->id);
	if (is_word(ifname))
		reply_word("ifname", ifname);
	return 0;
}

int
verb_close(const struct request *rq)
{
	struct handle *h;
	int err;

	if (arg_handle(rq, &h) < 0)
		return -1;
	err = be_close(h->fd);
	handle_remove(h);	/* the descriptor is gone even when close fails */
	if (err)
		return fail_errno(rq, err, "close");
	return 0;
}

int
verb_read(const struct request *rq)
{
	static uint8_t buf[READ_MAX];
	long long max, wait_ms;
	struct handle *h;
	size_t n;
	int nonblock, err;

	if (arg_handle(rq, &h) < 0 ||
	    arg_int_opt(rq, "max", 0, READ_MAX, READ_MAX, &max) < 0 ||
	    arg_int_opt(rq, "wait_ms", 0, 600000, -1, &wait_ms) < 0)
		return -1;
	if (wait_ms < 0) {
		/* a blocking read must not hold the agent forever */
		err = be_get_nonblock(h->fd, &nonblock);
		if (err)
			return fail_errno(rq, err, "read: get non-blocking mode");
		if (!nonblock) {
			err = be_wait_readable(h->fd, READ_BLOCKING_WAIT_MS);
			if (err == ETIMEDOUT)
				return reply_err(rq->id, "ETIMEDOUT", 0,
				    "read: blocking device not readable within %d ms",
				    READ_BLOCKING_WAIT_MS);
		}
	} else {
		err = be_wait_readable(h->fd, (int)wait_ms);
		if (err == ETIMEDOUT)
			return reply_err(rq->id, "ETIMEDOUT", 0,
			    "read: not readable within wait_ms=%lld", wait_ms);
	}
	if (err)
		return fail_errno(rq, err, "read: wait");
	err = be_read(h->fd, buf, (size_t)max, &n);
	if (err)
		return fail_errno(rq, err, "read");
	reply_uint("n", n);
	reply_blob("data", buf, n);
	return 0;
}

/* poll h= [wait_ms=]: readiness as poll(2) reports it (a d_poll driver has no kqueue). */
int
verb_poll(const struct request *rq)
{
	long long wait_ms;
	struct handle *h;
	int in, out, err;

	if (arg_handle(rq, &h) < 0 ||
	    arg_int_opt(rq, "wait_ms", 0, 600000, 0, &wait_ms) < 0)
		return -1;
	err = be_poll(h->fd, (int)wait_ms, &in, &out);
	if (err)
		return fail_errno(rq, err, "poll");
	reply_int("in", in);
	reply_int("out", out);
	return 0;
}

int
verb_write(const struct request *rq)
{
	static uint8_t buf[WRITE_MAX];
	struct handle *h;
	size_t len, n;
	int err;

	if (arg_handle(rq, &h) < 0 || arg_blob(rq, "data", buf, sizeof(buf), &len) < 0)
		return -1;
	err = be_write(h->fd, buf, len, &n);
	if (err)
		return fail_errno(rq, err, "write");
	reply_uint("n", n);
	return 0;
}
