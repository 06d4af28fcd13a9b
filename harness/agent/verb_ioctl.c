/*
 * verb_ioctl.c - the ioctl verb: looks req= up in the backend's table, reads the typed
 * arguments its type needs, runs it, and reports the typed results (docs/protocol.md).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "args.h"
#include "backend.h"

const struct be_ioctl_desc *
ioctl_find(const char *name)
{
	const struct be_ioctl_desc *t;
	size_t n;

	t = be_ioctl_table(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

/* Reads the arguments of an IN ioctl of d's type into a. */
static int
get_args(const struct request *rq, const struct be_ioctl_desc *d, struct be_ioctl_args *a)
{
	long long v;
	const char *name;

	switch (d->arg) {
	case BE_IOC_NONE:
		return 0;
	case BE_IOC_VALUE:
		return arg_int(rq, "value", LLONG_MIN, LLONG_MAX, &a->value);
	case BE_IOC_INT:
	case BE_IOC_SOCK_INT:
		if (!(d->dir & BE_IOC_IN))
			return 0;
		return arg_int(rq, "value", INT_MIN, UINT_MAX, &a->value);
	case BE_IOC_IFREQ_FLAGS:
		if (!(d->dir & BE_IOC_IN))
			return 0;
		if (arg_ifname_opt(rq, "name", &name) < 0 ||
		    arg_int(rq, "flags", 0, 0xffffffffLL, &v) < 0)
			return -1;
		if (name)
			snprintf(a->name, sizeof(a->name), "%s", name);
		a->flags = (unsigned long)v;
		return 0;
	case BE_IOC_IFREQ_NAME:
	case BE_IOC_SOCK_NAME:
		if (!(d->dir & BE_IOC_IN))
			return 0;
		if (arg_ifname(rq, "name", &name) < 0)
			return -1;
		snprintf(a->name, sizeof(a->name), "%s", name);
		return 0;
	case BE_IOC_SOCK_TEXT:
		return 0;
	case BE_IOC_RAW:
		return arg_int_opt(rq, "value", INT_MIN, UINT_MAX, 0, &a->value);
	case BE_IOC_TUNINFO:
		if (!(d->dir & BE_IOC_IN))
			return 0;
		if (arg_int(rq, "mtu", 0, 65535, &v) < 0)
			return -1;
		a->mtu = (int)v;
		if (arg_int(rq, "type", 0, 255, &v) < 0)
			return -1;
		a->type = (int)v;
		if (arg_int(rq, "baudrate", INT_MIN, INT_MAX, &v) < 0)
			return -1;
		a->baudrate = (int)v;
		return 0;
	}
	return 0;
}

/* Adds the results of d's type to the ok reply. */
static void
put_results(const struct be_ioctl_desc *d, const struct be_ioctl_args *a)
{
	if (!(d->dir & BE_IOC_OUT))
		return;
	switch (d->arg) {
	case BE_IOC_NONE:
	case BE_IOC_VALUE:
		break;
	case BE_IOC_INT:
	case BE_IOC_SOCK_INT:
		reply_int("value", a->value);
		break;
	case BE_IOC_IFREQ_FLAGS:
		if (is_word(a->name))
			reply_word("name", a->name);
		reply_hex("flags", a->flags);
		break;
	case BE_IOC_IFREQ_NAME:
	case BE_IOC_SOCK_NAME:
		if (is_word(a->name))
			reply_word("name", a->name);
		break;
	case BE_IOC_TUNINFO:
		reply_int("mtu", a->mtu);
		reply_int("type", a->type);
		reply_int("baudrate", a->baudrate);
		break;
	case BE_IOC_SOCK_TEXT:
		reply_text("text", a->text);
		break;
	case BE_IOC_RAW:
		reply_int("value", a->value);
		break;
	}
}

int
verb_ioctl(const struct request *rq)
{
	static struct be_ioctl_desc raw = { "raw", 0, BE_IOC_RAW, BE_IOC_IN | BE_IOC_OUT, 0 };
	const struct be_ioctl_desc *d;
	static struct be_ioctl_args a;
	struct handle *h = NULL;
	const char *req, *ifname = NULL;
	long long num;
	long ret = 0;
	int err;

	if (arg_word(rq, "req", &req) < 0)
		return -1;
	d = ioctl_find(req);
	if (!d && req[0] >= '0' && req[0] <= '9') {
		/* a bare number: any device ioctl, for "other ioctls give ENOTTY" */
		if (parse_int(req, &num) < 0 || num < 0 || num > 0xffffffffLL)
			return reply_err(rq->id, "EARG", 0, "req: %s is not an ioctl number", req);
		raw.req = (unsigned long)num;
		d = &raw;
	}
	if (!d)
		return reply_err(rq->id, "EARG", 0, "req: %s is not in the %s backend's table",
		    req, be_name());
	if (d->arg == BE_IOC_SOCK_INT || d->arg == BE_IOC_SOCK_NAME ||
	    d->arg == BE_IOC_SOCK_TEXT) {
		if (arg_ifname(rq, "ifname", &ifname) < 0)
			return -1;
	} else if (arg_handle(rq, &h) < 0) {
		return -1;
	}
	memset(&a, 0, sizeof(a));
	if (get_args(rq, d, &a) < 0)
		return -1;
	err = be_ioctl(d, h ? h->fd : -1, ifname, &a, &ret);
	if (err)
		return fail_errno(rq, err, d->name);
	reply_int("ret", ret);
	put_results(d, &a);
	return 0;
}
