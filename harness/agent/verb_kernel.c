/*
 * verb_kernel.c - instruments that look into the kernel under test, for the BSD conformance
 * suite (docs/protocol.md, "Instruments"): kq, bpf, proc, send, module, sysctl, stat,
 * kstat, writes. Each maps onto one backend operation (backend.h); a backend without the
 * facility answers EOPNOTSUPP.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "args.h"
#include "backend.h"
#include "errnames.h"

/* ---- kqueues and bpf listeners: descriptors of their own, with ids like handles ---- */

enum aux_kind { AUX_KQ = 1, AUX_BPF };

#define MAX_AUX	32

static struct aux {
	long id;		/* 0: free */
	enum aux_kind kind;
	int fd;
} auxs[MAX_AUX];
static long aux_next = 1;

static struct aux *
aux_add(enum aux_kind kind, int fd)
{
	for (int i = 0; i < MAX_AUX; i++) {
		if (auxs[i].id == 0) {
			auxs[i].id = aux_next++;
			auxs[i].kind = kind;
			auxs[i].fd = fd;
			return &auxs[i];
		}
	}
	return NULL;
}

/* key=: an open kqueue (AUX_KQ) or listener (AUX_BPF); else the error reply. */
static int
arg_aux(const struct request *rq, const char *key, enum aux_kind kind, struct aux **a)
{
	long long id;

	if (arg_int(rq, key, 1, 0x7fffffff, &id) < 0)
		return -1;
	for (int i = 0; i < MAX_AUX; i++) {
		if (auxs[i].id == id && auxs[i].kind == kind) {
			*a = &auxs[i];
			return 0;
		}
	}
	return reply_err(rq->id, "ENOHANDLE", 0, "%s=%lld names no open %s", key, id,
	    kind == AUX_KQ ? "kqueue" : "bpf listener");
}

static int
want_op(const struct request *rq, const char **op)
{
	return arg_word(rq, "op", op);
}

/* kq op=open | op=add kq= h= filter= | op=poll kq= [wait_ms=] | op=close kq= */
int
verb_kq(const struct request *rq)
{
	struct be_kevent ev[16];
	struct handle *h;
	struct aux *a;
	const char *op, *filter;
	char list[16 * 48], *p = list;
	long long wait_ms, rawf = 0;
	int kq, kind, n, err;

	if (want_op(rq, &op) < 0)
		return -1;
	if (strcmp(op, "open") == 0) {
		if ((err = be_kq_open(&kq)))
			return fail_errno(rq, err, "kq open");
		if ((a = aux_add(AUX_KQ, kq)) == NULL) {
			(void)be_kq_close(kq);
			return reply_err(rq->id, "EMFILE", EMFILE, "kq: %d kqueues and "
			    "listeners already open", MAX_AUX);
		}
		reply_int("kq", a->id);
		return 0;
	}
	if (arg_aux(rq, "kq", AUX_KQ, &a) < 0)
		return -1;
	if (strcmp(op, "add") == 0) {
		if (arg_handle(rq, &h) < 0 || arg_word(rq, "filter", &filter) < 0)
			return -1;
		if (strcmp(filter, "read") == 0) {
			kind = BE_KQ_READ;
		} else if (strcmp(filter, "write") == 0) {
			kind = BE_KQ_WRITE;
		} else if (parse_int(filter, &rawf) == 0 && rawf >= -32768 && rawf <= 32767) {
			kind = BE_KQ_RAW;
		} else {
			return reply_err(rq->id, "EARG", 0,
			    "filter: want read, write or the system's filter number");
		}
		if ((err = be_kq_add(a->fd, h->fd, kind, (int)rawf)))
			return fail_errno(rq, err, "kq add");
		return 0;
	}
	if (strcmp(op, "poll") == 0) {
		if (arg_int_opt(rq, "wait_ms", 0, 600000, 0, &wait_ms) < 0)
			return -1;
		if ((err = be_kq_poll(a->fd, (int)wait_ms, ev, 16, &n)))
			return fail_errno(rq, err, "kq poll");
		reply_int("n", n);
		list[0] = '\0';
		for (int i = 0; i < n; i++) {
			char f[16];

			if (ev[i].kind == BE_KQ_READ)
				snprintf(f, sizeof(f), "read");
			else if (ev[i].kind == BE_KQ_WRITE)
				snprintf(f, sizeof(f), "write");
			else
				snprintf(f, sizeof(f), "%d", ev[i].filter);
			p += snprintf(p, sizeof(list) - (size_t)(p - list), "%s%s:0x%x:%lld:%d",
			    i ? "," : "", f, ev[i].flags, ev[i].data, ev[i].eof);
		}
		if (n > 0)
			reply_word("events", list);
		return 0;
	}
	if (strcmp(op, "close") == 0) {
		err = be_kq_close(a->fd);
		a->id = 0;
		if (err)
			return fail_errno(rq, err, "kq close");
		return 0;
	}
	return reply_err(rq->id, "EARG", 0, "op: want open, add, poll or close");
}

/* bpf op=open ifname= | op=read b= [max=] [wait_ms=] | op=write b= data= | op=close b= */
int
verb_bpf(const struct request *rq)
{
	static uint8_t buf[65536 + 64];
	const char *op, *ifname;
	struct aux *a;
	long long max, wait_ms;
	size_t n, len;
	int fd, err;

	if (want_op(rq, &op) < 0)
		return -1;
	if (strcmp(op, "open") == 0) {
		if (arg_ifname(rq, "ifname", &ifname) < 0)
			return -1;
		if ((err = be_bpf_open(ifname, &fd)))
			return fail_errno(rq, err, "bpf open");
		if ((a = aux_add(AUX_BPF, fd)) == NULL) {
			(void)be_bpf_close(fd);
			return reply_err(rq->id, "EMFILE", EMFILE, "bpf: %d kqueues and "
			    "listeners already open", MAX_AUX);
		}
		reply_int("b", a->id);
		return 0;
	}
	if (arg_aux(rq, "b", AUX_BPF, &a) < 0)
		return -1;
	if (strcmp(op, "read") == 0) {
		if (arg_int_opt(rq, "max", 0, (long long)sizeof(buf), 65539, &max) < 0 ||
		    arg_int_opt(rq, "wait_ms", 0, 600000, 0, &wait_ms) < 0)
			return -1;
		err = be_bpf_read(a->fd, buf, (size_t)max, &n);
		if (err == EAGAIN && wait_ms > 0) {
			err = be_wait_readable(a->fd, (int)wait_ms);
			if (err == ETIMEDOUT)
				return reply_err(rq->id, "ETIMEDOUT", 0,
				    "bpf read: nothing tapped within wait_ms=%lld", wait_ms);
			if (err == 0)
				err = be_bpf_read(a->fd, buf, (size_t)max, &n);
		}
		if (err)
			return fail_errno(rq, err, "bpf read");
		reply_uint("n", n);
		reply_blob("data", buf, n);
		return 0;
	}
	if (strcmp(op, "write") == 0) {
		if (arg_blob(rq, "data", buf, sizeof(buf), &len) < 0)
			return -1;
		if ((err = be_bpf_write(a->fd, buf, len, &n)))
			return fail_errno(rq, err, "bpf write");
		reply_uint("n", n);
		return 0;
	}
	if (strcmp(op, "close") == 0) {
		err = be_bpf_close(a->fd);
		a->id = 0;
		if (err)
			return fail_errno(rq, err, "bpf close");
		return 0;
	}
	return reply_err(rq->id, "EARG", 0, "op: want open, read, write or close");
}

/* proc: the agent process as the kernel sees it, and the SIGIO it received. */
int
verb_proc(const struct request *rq)
{
	struct be_proc p;
	int err;

	memset(&p, 0, sizeof(p));
	if ((err = be_proc_info(&p)))
		return fail_errno(rq, err, "proc");
	reply_int("pid", p.pid);
	reply_int("pgrp", p.pgrp);
	reply_uint("uid", p.uid);
	reply_uint("sigio", p.sigio);
	return 0;
}

/* send dst=<IPv4 or IPv6> [port=9] [size=0] [count=1]: datagrams through the stack. */
int
verb_send(const struct request *rq)
{
	static uint8_t payload[65000];
	struct be_in4 a4;
	struct be_in6 a6;
	uint8_t dst[16];
	const char *d;
	long long port, size, count;
	long sent, failed;
	int ipver, first, err;

	if (arg_word(rq, "dst", &d) < 0 ||
	    arg_int_opt(rq, "port", 1, 65535, 9, &port) < 0 ||
	    arg_int_opt(rq, "size", 0, (long long)sizeof(payload), 0, &size) < 0 ||
	    arg_int_opt(rq, "count", 1, 1000000, 1, &count) < 0)
		return -1;
	memset(dst, 0, sizeof(dst));
	if (strchr(d, ':')) {
		if (arg_in6(rq, "dst", &a6) < 0)
			return -1;
		memcpy(dst, a6.b, 16);
		ipver = 6;
	} else {
		if (arg_in4(rq, "dst", &a4) < 0)
			return -1;
		memcpy(dst, a4.b, 4);
		ipver = 4;
	}
	for (size_t i = 0; i < (size_t)size; i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	err = be_stack_send(ipver, dst, (unsigned)port, payload, (size_t)size, (long)count,
	    &sent, &failed, &first);
	if (err)
		return fail_errno(rq, err, "send");
	reply_int("sent", sent);
	reply_int("failed", failed);
	if (failed) {
		reply_word("error", errno_name(first));
		reply_int("errno", first);
	}
	return 0;
}

/* module op=load|unload name= */
int
verb_module(const struct request *rq)
{
	const char *op, *name;
	char file[1024] = "";
	int load, err;

	if (want_op(rq, &op) < 0 || arg_word(rq, "name", &name) < 0)
		return -1;
	if (strcmp(op, "load") == 0)
		load = 1;
	else if (strcmp(op, "unload") == 0)
		load = 0;
	else
		return reply_err(rq->id, "EARG", 0, "op: want load or unload");
	if ((err = be_module(load, name, file, sizeof(file))))
		return fail_errno(rq, err, load ? "module load" : "module unload");
	if (is_word(file))
		reply_word("file", file);
	return 0;
}

/* sysctl name= [value=]: an integer sysctl, set first if value= is given. */
int
verb_sysctl(const struct request *rq)
{
	const char *name;
	long long nv, ov;
	int err;

	if (arg_word(rq, "name", &name) < 0)
		return -1;
	if (request_get(rq, "value")) {
		if (arg_int(rq, "value", -0x7fffffffffffffffLL, 0x7fffffffffffffffLL, &nv) < 0)
			return -1;
		err = be_sysctl_int(name, &nv, &ov);
	} else {
		err = be_sysctl_int(name, NULL, &ov);
	}
	if (err)
		return fail_errno(rq, err, "sysctl");
	reply_int("value", ov);
	return 0;
}

/* stat path=: owner, group and permission bits (decimal). */
int
verb_stat(const struct request *rq)
{
	unsigned long uid, gid;
	unsigned mode;
	const char *path;
	int err;

	if (arg_word(rq, "path", &path) < 0)
		return -1;
	if ((err = be_stat(path, &uid, &gid, &mode)))
		return fail_errno(rq, err, "stat");
	reply_uint("uid", uid);
	reply_uint("gid", gid);
	reply_uint("mode", mode);
	return 0;
}

/* kstat: the kernel's resource counters, as far as the backend can read them. */
int
verb_kstat(const struct request *rq)
{
	struct be_kstat ks[32];
	size_t n = 0;
	int err;

	if ((err = be_kstats(ks, 32, &n)))
		return fail_errno(rq, err, "kstat");
	for (size_t i = 0; i < n; i++)
		reply_int(ks[i].name, ks[i].value);
	return 0;
}

/* writes h= data= count=: the same write count times; counts what happened. */
int
verb_writes(const struct request *rq)
{
	static uint8_t buf[(MAX_FRAME - 64) / 2];
	struct handle *h;
	long long count;
	long done = 0, failed = 0, same = 0;
	size_t len, n;
	int err, first = 0;

	if (arg_handle(rq, &h) < 0 || arg_blob(rq, "data", buf, sizeof(buf), &len) < 0 ||
	    arg_int(rq, "count", 1, 10000000, &count) < 0)
		return -1;
	for (long long i = 0; i < count; i++) {
		err = be_write(h->fd, buf, len, &n);
		if (err == 0) {
			done++;
			continue;
		}
		if (failed++ == 0)
			first = err;
		if (err == first)
			same++;
	}
	reply_int("done", done);
	reply_int("failed", failed);
	if (failed) {
		reply_word("error", errno_name(first));
		reply_int("same", same);
	}
	return 0;
}
