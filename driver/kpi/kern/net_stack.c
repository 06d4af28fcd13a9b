/*
 * net_stack.c - netisr and a minimal IPv4/IPv6 host for the kpi.
 *
 * netisr_queue() hands packets to a netisr thread, as DragonFly's does.
 * That thread plays the host stack: it accepts IPv4 and IPv6 packets
 * addressed to a configured interface address, answers ICMP and ICMPv6
 * echo requests and UDP datagrams to port 7 (echo), and queues other UDP
 * datagrams to bound kpi sockets.  Replies leave through the routed
 * interface's if_output(), so they come back through the driver's read
 * side.  UDP sockets also send (kpi_sendto) the same way.
 *
 * if_detach() waits (kpi_netisr_sync) until no thread is inside a stack
 * output path, like DragonFly's netmsg_service_sync(), so an interface is
 * never used after it has gone.
 */
#include "kpi_kern.h"
#include <sys/mbuf.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <sys/filio.h>
#include <sys/event.h>
#include <sys/uio.h>
#include <sys/spinlock2.h>
#include <net/if.h>
#include <net/if_var.h>
#include <net/netisr.h>
#include <netinet/in.h>
#include <netinet/in_var.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <netinet6/in6_var.h>

MALLOC_DEFINE(M_SOCKET, "socket", "kpi sockets");
MALLOC_DEFINE(M_NETSTACK, "netstack", "kpi host stack buffers");

#define UDP_ECHO_PORT	7
#define KPI_MSG_DONTWAIT 0x80	/* DragonFly's MSG_DONTWAIT */
#define SO_MAXQ		1024

/* ---- stack users and if_detach() ---- */

static int net_busy;

void
kpi_net_enter(void)
{
	struct thread *td = curthread;

	kpi_sched_lock();
	net_busy++;
	td->td_kpi_netbusy++;
	kpi_sched_unlock();
}

void
kpi_net_exit(void)
{
	struct thread *td = curthread;

	kpi_sched_lock();
	net_busy--;
	td->td_kpi_netbusy--;
	if (net_busy == 0 || net_busy == 1)
		kpi_sched_broadcast();
	kpi_sched_unlock();
}

void
kpi_netisr_sync(void)
{
	struct thread *td = curthread;

	kpi_sched_lock();
	if (net_busy > td->td_kpi_netbusy) {
		kpi_tokens_release_locked(td);
		while (net_busy > td->td_kpi_netbusy)
			kpi_sched_wait(0);
		kpi_tokens_reacquire_locked(td);
	}
	kpi_sched_unlock();
}

/* ---- checksums ---- */

static uint32_t
cksum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t
cksum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static uint16_t
in_cksum_buf(const void *buf, size_t len)
{
	return cksum_fold(cksum_add(0, buf, len));
}

static uint16_t
pseudo4_cksum(const struct ip *ip, uint8_t proto, const void *l4, size_t len)
{
	uint32_t sum = 0;
	uint8_t ph[12];

	memcpy(ph, &ip->ip_src, 4);
	memcpy(ph + 4, &ip->ip_dst, 4);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = (uint8_t)(len >> 8);
	ph[11] = (uint8_t)len;
	sum = cksum_add(sum, ph, sizeof(ph));
	sum = cksum_add(sum, l4, len);
	return cksum_fold(sum);
}

static uint16_t
pseudo6_cksum(const struct ip6_hdr *ip6, uint8_t nxt, const void *l4,
    size_t len)
{
	uint32_t sum = 0;
	uint8_t ph[40];

	memcpy(ph, &ip6->ip6_src, 16);
	memcpy(ph + 16, &ip6->ip6_dst, 16);
	ph[32] = (uint8_t)(len >> 24);
	ph[33] = (uint8_t)(len >> 16);
	ph[34] = (uint8_t)(len >> 8);
	ph[35] = (uint8_t)len;
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = nxt;
	sum = cksum_add(sum, ph, sizeof(ph));
	sum = cksum_add(sum, l4, len);
	return cksum_fold(sum);
}

/* ---- output ---- */

static struct mbuf *
buf_to_mbuf(const void *buf, int len)
{
	struct mbuf *m, *top = NULL, **mp = &top;
	const char *p = buf;
	int flags = M_PKTHDR, size, n, left = len;

	do {
		m = m_getl(left, M_WAITOK, MT_DATA, flags, &size);
		if (flags) {
			m->m_pkthdr.len = len;
			/* leave room for a link header, as ip_output does */
			if (left + max_linkhdr <= size && !(m->m_flags & M_EXT))
				MH_ALIGN(m, left);
			flags = 0;
		}
		n = imin(size, left);
		memcpy(mtod(m, char *), p, n);
		m->m_len = n;
		p += n;
		left -= n;
		*mp = m;
		mp = &m->m_next;
	} while (left > 0);
	return top;
}

/*
 * Send an IP packet held in buf through the route for its destination;
 * fallback: the interface that owns the source address (replies).
 */
static int
ip_send(int af, const void *buf, int len, int fallback_owner)
{
	struct ifnet *ifp = NULL;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *dst;
	struct mbuf *m;
	int error;

	kpi_net_enter();
	kpi_inaddr_lock();
	if (af == AF_INET) {
		const struct ip *ip = buf;
		uint32_t src;

		ifp = kpi_route_lookup4(ip->ip_dst.s_addr, &src);
		if (ifp == NULL && fallback_owner) {
			struct in_ifaddr *ia =
			    kpi_in_localaddr(ip->ip_src.s_addr);

			if (ia != NULL)
				ifp = ia->ia_ifp;
		}
		memset(&sin, 0, sizeof(sin));
		sin.sin_len = sizeof(sin);
		sin.sin_family = AF_INET;
		sin.sin_addr = ip->ip_dst;
		dst = (struct sockaddr *)&sin;
	} else {
		const struct ip6_hdr *ip6 = buf;
		struct in6_addr src;

		ifp = kpi_route_lookup6(&ip6->ip6_dst, &src);
		if (ifp == NULL && fallback_owner) {
			struct in6_ifaddr *ia = kpi_in6_localaddr(&ip6->ip6_src);

			if (ia != NULL)
				ifp = ia->ia_ifa.ifa_ifp;
		}
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_len = sizeof(sin6);
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = ip6->ip6_dst;
		dst = (struct sockaddr *)&sin6;
	}
	kpi_inaddr_unlock();
	if (ifp == NULL) {
		kpi_net_exit();
		return ENETUNREACH;
	}
	m = buf_to_mbuf(buf, len);
	error = ifp->if_output(ifp, m, dst, NULL);
	kpi_net_exit();
	return error;
}

static uint16_t ip_id_next = 1;

static void
ip4_fill(struct ip *ip, int total, uint8_t proto, struct in_addr src,
    struct in_addr dst)
{
	memset(ip, 0, sizeof(*ip));
	ip->ip_v = IPVERSION;
	ip->ip_hl = sizeof(*ip) >> 2;
	ip->ip_len = htons((uint16_t)total);
	ip->ip_id = htons(__atomic_fetch_add(&ip_id_next, 1, __ATOMIC_RELAXED));
	ip->ip_ttl = 64;
	ip->ip_p = proto;
	ip->ip_src = src;
	ip->ip_dst = dst;
	ip->ip_sum = in_cksum_buf(ip, sizeof(*ip));
}

static void
ip6_fill(struct ip6_hdr *ip6, int plen, uint8_t nxt,
    const struct in6_addr *src, const struct in6_addr *dst)
{
	memset(ip6, 0, sizeof(*ip6));
	ip6->ip6_vfc = IPV6_VERSION;
	ip6->ip6_plen = htons((uint16_t)plen);
	ip6->ip6_nxt = nxt;
	ip6->ip6_hlim = 64;
	ip6->ip6_src = *src;
	ip6->ip6_dst = *dst;
}

static void
reply_sent(int error, int stat)
{
	if (error)
		KPI_STAT_ADD(KS_REPLY_ERRORS, 1);
	else
		KPI_STAT_ADD(stat, 1);
}

/* ---- sockets ---- */

struct so_dgram {
	TAILQ_ENTRY(so_dgram) link;
	struct sockaddr_storage from;
	int		len;
	u_char		data[];
};

struct socket {
	LIST_ENTRY(socket) so_link;
	int		so_domain;
	int		so_type;
	uint16_t	so_lport;	/* network order, 0 if unbound */
	TAILQ_HEAD(, so_dgram) so_rcv;
	int		so_qlen;
	struct kqinfo	so_kq;
	int		so_closing;
};

static LIST_HEAD(, socket) kpi_sockets = LIST_HEAD_INITIALIZER(kpi_sockets);
static struct spinlock so_spin = SPINLOCK_INITIALIZER(so_spin, "sockets");
static uint16_t so_next_ephemeral = 49152;

static int
udp_deliver(int domain, uint16_t dport, const struct sockaddr *from,
    const void *data, int len)
{
	struct socket *so;
	struct so_dgram *dg;

	dg = kmalloc(sizeof(*dg) + len, M_SOCKET, M_WAITOK | M_ZERO);
	memcpy(&dg->from, from, from->sa_len);
	dg->len = len;
	memcpy(dg->data, data, len);
	spin_lock(&so_spin);
	LIST_FOREACH(so, &kpi_sockets, so_link) {
		if (so->so_domain == domain && so->so_lport == dport &&
		    !so->so_closing)
			break;
	}
	if (so == NULL || so->so_qlen >= SO_MAXQ) {
		spin_unlock(&so_spin);
		kfree(dg, M_SOCKET);
		return 0;
	}
	TAILQ_INSERT_TAIL(&so->so_rcv, dg, link);
	so->so_qlen++;
	spin_unlock(&so_spin);
	KPI_STAT_ADD(KS_UDP_DELIVERED, 1);
	lwkt_gettoken(&ifnet_token);
	KNOTE(&so->so_kq.ki_note, 0);
	lwkt_reltoken(&ifnet_token);
	wakeup(so);
	return 1;
}

/* ---- input ---- */

static void
ip4_input(u_char *buf, int len)
{
	struct ip *ip = (struct ip *)buf;
	struct icmp_echo_hdr *icmp;
	struct udphdr *uh;
	struct in_addr src, dst;
	int hlen, iplen, plen, local, error;

	if (len < (int)sizeof(struct ip) || ip->ip_v != IPVERSION)
		goto drop;
	hlen = ip->ip_hl << 2;
	if (hlen < (int)sizeof(struct ip) || hlen > len)
		goto drop;
	if (in_cksum_buf(ip, hlen) != 0)
		goto drop;
	iplen = ntohs(ip->ip_len);
	if (iplen < hlen || iplen > len)
		goto drop;
	len = iplen;		/* ip_input trims the excess */
	if (ntohs(ip->ip_off) & (IP_MF | IP_OFFMASK))
		goto drop;	/* no reassembly here */
	kpi_inaddr_lock();
	local = kpi_in_localaddr(ip->ip_dst.s_addr) != NULL;
	kpi_inaddr_unlock();
	if (!local)
		goto drop;	/* not for us; forwarding is off */
	KPI_STAT_ADD(KS_IP4_IN, 1);
	plen = len - hlen;
	src = ip->ip_src;
	dst = ip->ip_dst;

	switch (ip->ip_p) {
	case IPPROTO_ICMP:
		if (plen < (int)sizeof(*icmp))
			goto drop;
		icmp = (struct icmp_echo_hdr *)(buf + hlen);
		if (in_cksum_buf(icmp, plen) != 0)
			goto drop;
		if (icmp->icmp_type != ICMP_ECHO || icmp->icmp_code != 0)
			return;
		/* icmp_reflect(): same payload, addresses swapped */
		memmove(buf + sizeof(struct ip), icmp, plen);
		icmp = (struct icmp_echo_hdr *)(buf + sizeof(struct ip));
		icmp->icmp_type = ICMP_ECHOREPLY;
		icmp->icmp_cksum = 0;
		icmp->icmp_cksum = in_cksum_buf(icmp, plen);
		ip4_fill(ip, (int)sizeof(struct ip) + plen, IPPROTO_ICMP, dst,
		    src);
		error = ip_send(AF_INET, buf, (int)sizeof(struct ip) + plen, 1);
		reply_sent(error, KS_ECHO_REPLIES);
		return;
	case IPPROTO_UDP: {
		struct sockaddr_in from;
		uint16_t sport, dport;
		int ulen;

		if (plen < (int)sizeof(*uh))
			goto drop;
		uh = (struct udphdr *)(buf + hlen);
		ulen = ntohs(uh->uh_ulen);
		if (ulen < (int)sizeof(*uh) || ulen > plen)
			goto drop;
		if (uh->uh_sum != 0 &&
		    pseudo4_cksum(ip, IPPROTO_UDP, uh, ulen) != 0)
			goto drop;
		sport = uh->uh_sport;
		dport = uh->uh_dport;
		if (ntohs(dport) == UDP_ECHO_PORT) {
			memmove(buf + sizeof(struct ip), uh, ulen);
			uh = (struct udphdr *)(buf + sizeof(struct ip));
			uh->uh_sport = dport;
			uh->uh_dport = sport;
			ip4_fill(ip, (int)sizeof(struct ip) + ulen, IPPROTO_UDP,
			    dst, src);
			uh->uh_sum = 0;
			uh->uh_sum = pseudo4_cksum(ip, IPPROTO_UDP, uh, ulen);
			if (uh->uh_sum == 0)
				uh->uh_sum = 0xffff;
			error = ip_send(AF_INET, buf,
			    (int)sizeof(struct ip) + ulen, 1);
			reply_sent(error, KS_UDP_ECHOES);
			return;
		}
		memset(&from, 0, sizeof(from));
		from.sin_len = sizeof(from);
		from.sin_family = AF_INET;
		from.sin_port = sport;
		from.sin_addr = src;
		if (!udp_deliver(AF_INET, dport, (struct sockaddr *)&from,
		    (u_char *)(uh + 1), ulen - (int)sizeof(*uh)))
			goto drop;
		return;
	}
	default:
		goto drop;
	}
drop:
	KPI_STAT_ADD(KS_STACK_DROPS, 1);
}

static void
ip6_input(u_char *buf, int len)
{
	struct ip6_hdr *ip6 = (struct ip6_hdr *)buf;
	struct in6_addr src, dst;
	int plen, local, error;

	if (len < (int)sizeof(*ip6) ||
	    (ip6->ip6_vfc & IPV6_VERSION_MASK) != IPV6_VERSION)
		goto drop;
	plen = ntohs(ip6->ip6_plen);
	if ((int)sizeof(*ip6) + plen > len)
		goto drop;
	kpi_inaddr_lock();
	local = kpi_in6_localaddr(&ip6->ip6_dst) != NULL;
	kpi_inaddr_unlock();
	if (!local)
		goto drop;
	KPI_STAT_ADD(KS_IP6_IN, 1);
	src = ip6->ip6_src;
	dst = ip6->ip6_dst;

	switch (ip6->ip6_nxt) {
	case IPPROTO_ICMPV6: {
		struct icmp6_hdr *icmp6 = (struct icmp6_hdr *)(ip6 + 1);

		if (plen < (int)sizeof(*icmp6))
			goto drop;
		if (pseudo6_cksum(ip6, IPPROTO_ICMPV6, icmp6, plen) != 0)
			goto drop;
		if (icmp6->icmp6_type != ICMP6_ECHO_REQUEST ||
		    icmp6->icmp6_code != 0)
			return;
		ip6_fill(ip6, plen, IPPROTO_ICMPV6, &dst, &src);
		icmp6->icmp6_type = ICMP6_ECHO_REPLY;
		icmp6->icmp6_cksum = 0;
		icmp6->icmp6_cksum = pseudo6_cksum(ip6, IPPROTO_ICMPV6, icmp6,
		    plen);
		error = ip_send(AF_INET6, buf, (int)sizeof(*ip6) + plen, 1);
		reply_sent(error, KS_ECHO_REPLIES);
		return;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = (struct udphdr *)(ip6 + 1);
		struct sockaddr_in6 from;
		uint16_t sport, dport;
		int ulen;

		if (plen < (int)sizeof(*uh))
			goto drop;
		ulen = ntohs(uh->uh_ulen);
		if (ulen < (int)sizeof(*uh) || ulen > plen)
			goto drop;
		if (uh->uh_sum == 0 ||
		    pseudo6_cksum(ip6, IPPROTO_UDP, uh, ulen) != 0)
			goto drop;
		sport = uh->uh_sport;
		dport = uh->uh_dport;
		if (ntohs(dport) == UDP_ECHO_PORT) {
			uh->uh_sport = dport;
			uh->uh_dport = sport;
			ip6_fill(ip6, ulen, IPPROTO_UDP, &dst, &src);
			uh->uh_sum = 0;
			uh->uh_sum = pseudo6_cksum(ip6, IPPROTO_UDP, uh, ulen);
			if (uh->uh_sum == 0)
				uh->uh_sum = 0xffff;
			error = ip_send(AF_INET6, buf, (int)sizeof(*ip6) + ulen,
			    1);
			reply_sent(error, KS_UDP_ECHOES);
			return;
		}
		memset(&from, 0, sizeof(from));
		from.sin6_len = sizeof(from);
		from.sin6_family = AF_INET6;
		from.sin6_port = sport;
		from.sin6_addr = src;
		if (!udp_deliver(AF_INET6, dport, (struct sockaddr *)&from,
		    (u_char *)(uh + 1), ulen - (int)sizeof(*uh)))
			goto drop;
		return;
	}
	default:
		goto drop;
	}
drop:
	KPI_STAT_ADD(KS_STACK_DROPS, 1);
}

void
kpi_stack_input(int isr, struct mbuf *m)
{
	u_char *buf;
	int len;

	M_ASSERTPKTHDR(m);
	len = m->m_pkthdr.len;
	if (len <= 0 || (u_int)len != m_lengthm(m, NULL)) {
		if (len != (int)m_lengthm(m, NULL))
			kprintf("kpi: netisr: m_pkthdr.len %d but the chain "
			    "holds %u bytes\n", len, m_lengthm(m, NULL));
		m_freem(m);
		KPI_STAT_ADD(KS_STACK_DROPS, 1);
		return;
	}
	buf = kmalloc(len + 64, M_NETSTACK, M_WAITOK);
	m_copydata(m, 0, len, (caddr_t)buf);
	m_freem(m);
	if (isr == NETISR_IP)
		ip4_input(buf, len);
	else
		ip6_input(buf, len);
	kfree(buf, M_NETSTACK);
}

/* ---- the netisr thread ---- */

static struct {
	struct spinlock	spin;
	struct mbuf	*head, *tail;
	int		stopping;
	int		running;
	int		busy;		/* processing a batch */
	struct hostif_thread *ht;
} netisr;

int
netisr_queue(int num, struct mbuf *m)
{
	if (num != NETISR_IP && num != NETISR_IPV6) {
		kprintf("Unregistered isr %d\n", num);
		m_freem(m);
		return EIO;
	}
	if (!netisr.running) {
		m_freem(m);
		return EIO;
	}
	M_ASSERTPKTHDR(m);
	KPI_STAT_ADD(KS_NETISR, 1);
	m->m_pkthdr.unused1 = (uint16_t)num;
	m->m_nextpkt = NULL;
	spin_lock(&netisr.spin);
	if (netisr.tail == NULL)
		netisr.head = m;
	else
		netisr.tail->m_nextpkt = m;
	netisr.tail = m;
	spin_unlock(&netisr.spin);
	wakeup(&netisr);
	return 0;
}

static void
netisr_main(void *arg __unused)
{
	struct mbuf *m, *next;

	curthread->td_type = TD_TYPE_NETISR;
	for (;;) {
		tsleep_interlock(&netisr, 0);
		spin_lock(&netisr.spin);
		m = netisr.head;
		netisr.head = netisr.tail = NULL;
		netisr.busy = (m != NULL);
		spin_unlock(&netisr.spin);
		if (m == NULL) {
			if (netisr.stopping)
				break;
			tsleep(&netisr, PINTERLOCKED, "netisr", 0);
			continue;
		}
		tsleep_remove(curthread);
		for (; m != NULL; m = next) {
			next = m->m_nextpkt;
			m->m_nextpkt = NULL;
			kpi_net_enter();
			kpi_stack_input(m->m_pkthdr.unused1, m);
			kpi_net_exit();
		}
	}
	tsleep_remove(curthread);
}

/* wait until everything queued to netisr so far has been processed */
int
kpik_sync(void)
{
	long long deadline = kpi_now_ns() + 5000000000LL;
	int idle;

	for (;;) {
		spin_lock(&netisr.spin);
		idle = netisr.head == NULL && !netisr.busy;
		spin_unlock(&netisr.spin);
		if (idle || !netisr.running)
			return 0;
		if (kpi_now_ns() > deadline)
			return ETIMEDOUT;	/* never hang a test */
		hostif_nanosleep(50000);
	}
}

void
kpi_stack_init(void)
{
	spin_init(&netisr.spin, "netisr");
	netisr.head = netisr.tail = NULL;
	netisr.stopping = 0;
	netisr.running = 1;
	kpi_thread_create_kernel("netisr0", netisr_main, NULL, &netisr.ht);
}

void
kpi_stack_fini(void)
{
	netisr.stopping = 1;
	wakeup(&netisr);
	hostif_thread_join(netisr.ht);
	netisr.running = 0;
}

/* ---- socket files ---- */

static void
so_flush(struct socket *so)
{
	struct so_dgram *dg;

	while ((dg = TAILQ_FIRST(&so->so_rcv)) != NULL) {
		TAILQ_REMOVE(&so->so_rcv, dg, link);
		kfree(dg, M_SOCKET);
	}
	so->so_qlen = 0;
}

static int
so_close(struct file *fp)
{
	struct socket *so = fp->f_data;

	spin_lock(&so_spin);
	so->so_closing = 1;
	LIST_REMOVE(so, so_link);
	spin_unlock(&so_spin);
	so_flush(so);
	kfree(so, M_SOCKET);
	return 0;
}

static int
so_ioctl(struct file *fp, u_long cmd, caddr_t data, struct ucred *cred)
{
	struct socket *so = fp->f_data;

	switch (cmd) {
	case FIONBIO:
	case FIOASYNC:
		return 0;
	case FIONREAD:
		spin_lock(&so_spin);
		*(int *)data = TAILQ_EMPTY(&so->so_rcv) ? 0 :
		    TAILQ_FIRST(&so->so_rcv)->len;
		spin_unlock(&so_spin);
		return 0;
	default:
		return kpi_ifioctl_domain(so->so_domain, cmd, data, cred);
	}
}

static void
so_filter_detach(struct knote *kn)
{
	struct socket *so = (struct socket *)kn->kn_hook;

	lwkt_gettoken(&ifnet_token);
	knote_remove(&so->so_kq.ki_note, kn);
	lwkt_reltoken(&ifnet_token);
}

static int
so_filter_read(struct knote *kn, long hint __unused)
{
	struct socket *so = (struct socket *)kn->kn_hook;

	kn->kn_data = so->so_qlen ? TAILQ_FIRST(&so->so_rcv)->len : 0;
	return so->so_qlen > 0;
}

static int
so_filter_write(struct knote *kn, long hint __unused)
{
	kn->kn_data = 65507;
	return 1;
}

static struct filterops so_read_filtops = {
	FILTEROP_ISFD, NULL, so_filter_detach, so_filter_read
};
static struct filterops so_write_filtops = {
	FILTEROP_ISFD, NULL, so_filter_detach, so_filter_write
};

static int
so_kqfilter(struct file *fp, struct knote *kn)
{
	struct socket *so = fp->f_data;

	switch (kn->kn_filter) {
	case EVFILT_READ:
		kn->kn_fop = &so_read_filtops;
		break;
	case EVFILT_WRITE:
		kn->kn_fop = &so_write_filtops;
		break;
	default:
		return EOPNOTSUPP;
	}
	kn->kn_hook = (caddr_t)so;
	lwkt_gettoken(&ifnet_token);
	knote_insert(&so->so_kq.ki_note, kn);
	lwkt_reltoken(&ifnet_token);
	return 0;
}

static const struct fileops_kpi so_ops = {
	NULL, NULL, so_ioctl, so_kqfilter, so_close
};

int
kpik_socket(int domain, int type, int proto, int *fdp)
{
	struct socket *so;
	int error;

	if (domain != AF_INET && domain != AF_INET6)
		return EAFNOSUPPORT;
	if (type != SOCK_DGRAM)
		return EPROTONOSUPPORT;
	if (proto != 0 && proto != IPPROTO_UDP)
		return EPROTONOSUPPORT;
	so = kmalloc(sizeof(*so), M_SOCKET, M_WAITOK | M_ZERO);
	so->so_domain = domain;
	so->so_type = type;
	TAILQ_INIT(&so->so_rcv);
	SLIST_INIT(&so->so_kq.ki_note);
	error = kpi_falloc(DTYPE_SOCKET, so, &so_ops, FREAD | FWRITE, fdp,
	    NULL);
	if (error) {
		kfree(so, M_SOCKET);
		return error;
	}
	spin_lock(&so_spin);
	LIST_INSERT_HEAD(&kpi_sockets, so, so_link);
	spin_unlock(&so_spin);
	return 0;
}

static int
so_get(int fd, struct file **fpp, struct socket **sop)
{
	struct file *fp;
	int error;

	error = kpi_fget(fd, &fp);
	if (error)
		return error;
	if (fp->f_type != DTYPE_SOCKET) {
		kpi_fdrop(fp);
		return ENOTSOCK;
	}
	*fpp = fp;
	*sop = fp->f_data;
	return 0;
}

static int
so_bind_port(struct socket *so, uint16_t port)
{
	struct socket *o;

	spin_lock(&so_spin);
	if (port == 0) {
		for (;;) {
			port = htons(so_next_ephemeral);
			if (++so_next_ephemeral == 0)
				so_next_ephemeral = 49152;
			LIST_FOREACH(o, &kpi_sockets, so_link) {
				if (o->so_domain == so->so_domain &&
				    o->so_lport == port)
					break;
			}
			if (o == NULL)
				break;
		}
	} else {
		LIST_FOREACH(o, &kpi_sockets, so_link) {
			if (o != so && o->so_domain == so->so_domain &&
			    o->so_lport == port) {
				spin_unlock(&so_spin);
				return EADDRINUSE;
			}
		}
	}
	so->so_lport = port;
	spin_unlock(&so_spin);
	return 0;
}

int
kpik_bind(int fd, const void *sa, unsigned int salen)
{
	const struct sockaddr *s = sa;
	struct socket *so;
	struct file *fp;
	uint16_t port;
	int error;

	error = so_get(fd, &fp, &so);
	if (error)
		return error;
	if (sa == NULL || salen < 4 || s->sa_family != so->so_domain ||
	    (so->so_domain == AF_INET &&
	    salen < sizeof(struct sockaddr_in)) ||
	    (so->so_domain == AF_INET6 &&
	    salen < sizeof(struct sockaddr_in6))) {
		kpi_fdrop(fp);
		return EINVAL;
	}
	if (so->so_lport != 0) {
		kpi_fdrop(fp);
		return EINVAL;
	}
	memcpy(&port, (const char *)sa + 2, sizeof(port));
	error = so_bind_port(so, port);
	kpi_fdrop(fp);
	return error;
}

int
kpik_getsockname(int fd, void *sa, unsigned int *salenp)
{
	struct sockaddr_storage ss;
	struct socket *so;
	struct file *fp;
	unsigned int l;
	int error;

	error = so_get(fd, &fp, &so);
	if (error)
		return error;
	memset(&ss, 0, sizeof(ss));
	if (so->so_domain == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_len = sizeof(*sin);
		sin->sin_family = AF_INET;
		sin->sin_port = so->so_lport;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_len = sizeof(*sin6);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = so->so_lport;
	}
	l = ss.ss_len < *salenp ? ss.ss_len : *salenp;
	error = copyout(&ss, sa, l);
	*salenp = ss.ss_len;
	kpi_fdrop(fp);
	return error;
}

int
kpik_sendto(int fd, const void *data, kpik_size_t n, int flags __unused,
    const void *to, unsigned int tolen, long *resp)
{
	struct socket *so;
	struct file *fp;
	u_char *buf;
	int error, hl, len;

	error = so_get(fd, &fp, &so);
	if (error)
		return error;
	hl = so->so_domain == AF_INET ? (int)sizeof(struct ip) :
	    (int)sizeof(struct ip6_hdr);
	if (to == NULL || ((const struct sockaddr *)to)->sa_family !=
	    so->so_domain || tolen < (so->so_domain == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6))) {
		kpi_fdrop(fp);
		return to == NULL ? EDESTADDRREQ : EINVAL;
	}
	if (n > (kpik_size_t)(65535 - hl - (int)sizeof(struct udphdr))) {
		kpi_fdrop(fp);
		return EMSGSIZE;
	}
	if (so->so_lport == 0 && (error = so_bind_port(so, 0)) != 0) {
		kpi_fdrop(fp);
		return error;
	}
	len = hl + (int)sizeof(struct udphdr) + (int)n;
	buf = kmalloc(len, M_NETSTACK, M_WAITOK | M_ZERO);
	if (so->so_domain == AF_INET) {
		const struct sockaddr_in *sin = to;
		struct ip *ip = (struct ip *)buf;
		struct udphdr *uh = (struct udphdr *)(ip + 1);
		struct in_addr src;
		struct ifnet *ifp;

		kpi_inaddr_lock();
		ifp = kpi_route_lookup4(sin->sin_addr.s_addr, &src.s_addr);
		kpi_inaddr_unlock();
		if (ifp == NULL) {
			error = ENETUNREACH;
			goto out;
		}
		if (copyin(data, uh + 1, n) != 0) {
			error = EFAULT;
			goto out;
		}
		uh->uh_sport = so->so_lport;
		uh->uh_dport = sin->sin_port;
		uh->uh_ulen = htons((uint16_t)(sizeof(*uh) + n));
		ip4_fill(ip, len, IPPROTO_UDP, src, sin->sin_addr);
		uh->uh_sum = pseudo4_cksum(ip, IPPROTO_UDP, uh,
		    sizeof(*uh) + n);
		if (uh->uh_sum == 0)
			uh->uh_sum = 0xffff;
		error = ip_send(AF_INET, buf, len, 0);
	} else {
		const struct sockaddr_in6 *sin6 = to;
		struct ip6_hdr *ip6 = (struct ip6_hdr *)buf;
		struct udphdr *uh = (struct udphdr *)(ip6 + 1);
		struct in6_addr src;
		struct ifnet *ifp;

		kpi_inaddr_lock();
		ifp = kpi_route_lookup6(&sin6->sin6_addr, &src);
		kpi_inaddr_unlock();
		if (ifp == NULL) {
			error = ENETUNREACH;
			goto out;
		}
		if (copyin(data, uh + 1, n) != 0) {
			error = EFAULT;
			goto out;
		}
		uh->uh_sport = so->so_lport;
		uh->uh_dport = sin6->sin6_port;
		uh->uh_ulen = htons((uint16_t)(sizeof(*uh) + n));
		ip6_fill(ip6, (int)(sizeof(*uh) + n), IPPROTO_UDP, &src,
		    &sin6->sin6_addr);
		uh->uh_sum = pseudo6_cksum(ip6, IPPROTO_UDP, uh,
		    sizeof(*uh) + n);
		if (uh->uh_sum == 0)
			uh->uh_sum = 0xffff;
		error = ip_send(AF_INET6, buf, len, 0);
	}
out:
	kfree(buf, M_NETSTACK);
	kpi_fdrop(fp);
	if (error == 0)
		*resp = (long)n;
	return error;
}

int
kpik_recvfrom(int fd, void *data, kpik_size_t n, int flags, void *from,
    unsigned int *fromlenp, long *resp)
{
	struct so_dgram *dg;
	struct socket *so;
	struct file *fp;
	int error;

	error = so_get(fd, &fp, &so);
	if (error)
		return error;
	for (;;) {
		tsleep_interlock(so, PCATCH);
		spin_lock(&so_spin);
		dg = TAILQ_FIRST(&so->so_rcv);
		if (dg != NULL) {
			TAILQ_REMOVE(&so->so_rcv, dg, link);
			so->so_qlen--;
		}
		spin_unlock(&so_spin);
		if (dg != NULL)
			break;
		if ((fp->f_flag & FNONBLOCK) || (flags & KPI_MSG_DONTWAIT)) {
			tsleep_remove(curthread);
			kpi_fdrop(fp);
			return EWOULDBLOCK;
		}
		error = tsleep(so, PCATCH | PINTERLOCKED, "sbwait", 0);
		if (error) {
			kpi_fdrop(fp);
			return error;
		}
	}
	tsleep_remove(curthread);
	error = copyout(dg->data, data, szmin(n, (size_t)dg->len));
	if (error == 0 && from != NULL && fromlenp != NULL) {
		unsigned int l = dg->from.ss_len;

		if (l > *fromlenp)
			l = *fromlenp;
		error = copyout(&dg->from, from, l);
		*fromlenp = dg->from.ss_len;
	}
	if (error == 0)
		*resp = (long)szmin(n, (size_t)dg->len);
	kfree(dg, M_SOCKET);
	kpi_fdrop(fp);
	return error;
}

/* the stack sends a packet of family af to ifname (if_output) */
int
kpik_stack_output(const char *ifname, int af, const void *pkt,
    kpik_size_t len)
{
	struct sockaddr_storage ss;
	struct ifnet *ifp;
	struct mbuf *m;
	int error;

	if (len == 0 || len > 65535 + 64)
		return EINVAL;
	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_len = sizeof(*sin);
		sin->sin_family = AF_INET;
		if (len >= sizeof(struct ip))
			memcpy(&sin->sin_addr,
			    (const char *)pkt + __offsetof(struct ip, ip_dst),
			    4);
	} else if (af == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_len = sizeof(*sin6);
		sin6->sin6_family = AF_INET6;
		if (len >= sizeof(struct ip6_hdr))
			memcpy(&sin6->sin6_addr, (const char *)pkt +
			    __offsetof(struct ip6_hdr, ip6_dst), 16);
	} else {
		struct sockaddr *sa = (struct sockaddr *)&ss;

		sa->sa_len = sizeof(*sa);
		sa->sa_family = (sa_family_t)af;
	}
	ifnet_lock();
	ifp = ifunit(ifname);
	if (ifp == NULL) {
		ifnet_unlock();
		return ENXIO;
	}
	kpi_net_enter();
	ifnet_unlock();
	m = buf_to_mbuf(pkt, (int)len);
	error = ifp->if_output(ifp, m, (struct sockaddr *)&ss, NULL);
	kpi_net_exit();
	return error;
}
