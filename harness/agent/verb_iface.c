/*
 * verb_iface.c - verbs on network interfaces, by name: ifconfig, ifinfo, route, stats.
 */
#include <string.h>

#include "agent.h"
#include "args.h"
#include "backend.h"

int
verb_ifconfig(const struct request *rq)
{
	struct be_ifconfig c;
	long long mtu;
	int up, err;

	memset(&c, 0, sizeof(c));
	if (arg_ifname(rq, "ifname", &c.ifname) < 0)
		return -1;
	if (request_get(rq, "addr")) {
		if (arg_in4_prefix(rq, "addr", &c.addr, &c.prefixlen) < 0)
			return -1;
		c.has_addr = 1;
	}
	if (request_get(rq, "peer")) {
		if (arg_in4(rq, "peer", &c.peer) < 0)
			return -1;
		c.has_peer = 1;
	}
	if (request_get(rq, "addr6")) {
		if (arg_in6_prefix(rq, "addr6", &c.addr6, &c.prefixlen6) < 0)
			return -1;
		c.has_addr6 = 1;
	}
	if (arg_int_opt(rq, "mtu", 0, 0x7fffffff, -1, &mtu) < 0 ||
	    arg_bool_opt(rq, "up", -1, &up) < 0)
		return -1;
	c.mtu = (int)mtu;
	c.up = up;
	err = be_ifconfig(&c);
	if (err)
		return fail_errno(rq, err, "ifconfig");
	return 0;
}

int
verb_ifinfo(const struct request *rq)
{
	struct be_ifinfo info;
	const char *ifname;
	int err;

	if (arg_ifname(rq, "ifname", &ifname) < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	err = be_ifinfo(ifname, &info);
	if (err)
		return fail_errno(rq, err, "ifinfo");
	reply_int("mtu", info.mtu);
	reply_hex("flags", info.flags);
	reply_int("index", info.index);
	info.groups[sizeof(info.groups) - 1] = '\0';
	if (info.groups[0] && is_word(info.groups))
		reply_word("groups", info.groups);
	return 0;
}

int
verb_route(const struct request *rq)
{
	const char *op, *ifname;
	struct be_in4 dst;
	int len, add, err;

	if (arg_word(rq, "op", &op) < 0)
		return -1;
	if (strcmp(op, "add") == 0)
		add = 1;
	else if (strcmp(op, "del") == 0)
		add = 0;
	else
		return reply_err(rq->id, "EARG", 0, "op: want add or del");
	if (arg_in4_prefix(rq, "dst", &dst, &len) < 0 || arg_ifname(rq, "ifname", &ifname) < 0)
		return -1;
	err = be_route(add, &dst, len, ifname);
	if (err)
		return fail_errno(rq, err, add ? "route add" : "route del");
	return 0;
}

int
verb_stats(const struct request *rq)
{
	struct be_ifstats st;
	const char *ifname;
	int err;

	if (arg_ifname(rq, "ifname", &ifname) < 0)
		return -1;
	memset(&st, 0, sizeof(st));
	err = be_ifstats(ifname, &st);
	if (err)
		return fail_errno(rq, err, "stats");
	reply_uint("rx_packets", st.rx_packets);
	reply_uint("rx_bytes", st.rx_bytes);
	reply_uint("tx_packets", st.tx_packets);
	reply_uint("tx_bytes", st.tx_bytes);
	reply_uint("rx_dropped", st.rx_dropped);
	reply_uint("tx_dropped", st.tx_dropped);
	reply_uint("rx_errors", st.rx_errors);
	reply_uint("tx_errors", st.tx_errors);
	return 0;
}
