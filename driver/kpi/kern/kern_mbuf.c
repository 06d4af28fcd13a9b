/*
 * kern_mbuf.c - mbufs, clusters, packet tags and uiomove for the kpi.
 *
 * Every mbuf and cluster is its own host allocation, so AddressSanitizer
 * sees use-after-free and double free of mbufs directly.  Live mbufs,
 * clusters and the bytes they hold are counted (kpi_stats()): a test
 * compares the counts before and after, and any leaked mbuf shows.
 *
 * The chain operations follow DragonFly's semantics, including their
 * failure behaviour: m_prepend() and m_pullup() free the chain when they
 * fail, M_PREPEND leaves NULL behind.
 */
#include "kpi_kern.h"
#include <sys/mbuf.h>
#include <sys/uio.h>

CTASSERT(sizeof(struct mbuf) == MSIZE);

#define MBUF_MAGIC	0x6d627566
#define MBUF_DEAD	0x64656164

MALLOC_DEFINE(M_PACKET_TAGS, "mtags", "packet-attached information");

struct kpi_cluster {
	int	refs;
	u_int	size;
	char	buf[] __aligned(16);
};

static long kpi_mbuf_fail_countdown;	/* fail the nth M_NOWAIT alloc */
static struct thread *kpi_mbuf_fail_td; /* ... or this thread's nth */

void
kpik_mbuf_fail(long nth)
{
	__atomic_store_n(&kpi_mbuf_fail_td, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&kpi_mbuf_fail_countdown, nth, __ATOMIC_RELAXED);
}

/*
 * DragonFly's M_WAITOK mbuf allocations can fail too: m_get() and friends
 * (kern/uipc_mbuf.c, 2008 to 2020) retry once after a reclaim and then
 * return NULL when the objcache stays empty.  Only the calling thread's
 * allocations count, so netisr's own are left alone.
 */
void
kpik_mbuf_fail_any(long nth)
{
	__atomic_store_n(&kpi_mbuf_fail_td, curthread, __ATOMIC_RELAXED);
	__atomic_store_n(&kpi_mbuf_fail_countdown, nth, __ATOMIC_RELAXED);
}

static int
mbuf_should_fail(int how)
{
	struct thread *td = __atomic_load_n(&kpi_mbuf_fail_td,
	    __ATOMIC_RELAXED);
	long n;

	if (td != NULL ? td != curthread : (how & M_WAITOK) != 0)
		return 0;
	n = __atomic_load_n(&kpi_mbuf_fail_countdown, __ATOMIC_RELAXED);
	if (n <= 0)
		return 0;
	if (__atomic_sub_fetch(&kpi_mbuf_fail_countdown, 1,
	    __ATOMIC_RELAXED) == 0) {
		KPI_STAT_ADD(KS_MBUF_NOWAIT_FAIL, 1);
		return 1;
	}
	return 0;
}

static struct mbuf *
mbuf_alloc(int how, int type, int flags)
{
	struct mbuf *m;

	if ((how & (M_WAITOK | M_RNOWAIT)) == 0)
		panic("mbuf alloc: neither M_WAITOK nor M_NOWAIT (0x%x)", how);
	if (mbuf_should_fail(how))
		return NULL;
	m = hostif_malloc(sizeof(*m));
	m->m_next = NULL;
	m->m_nextpkt = NULL;
	m->m_len = 0;
	m->m_flags = flags;
	m->m_type = type;
	m->m_hdr.mh_pad = 0;
	m->m_hdr.mh_kpi_magic = MBUF_MAGIC;
	if (flags & M_PKTHDR) {
		memset(&m->m_pkthdr, 0, sizeof(m->m_pkthdr));
		SLIST_INIT(&m->m_pkthdr.tags);
		m->m_data = m->m_pktdat;
	} else {
		m->m_data = m->m_dat;
	}
	KPI_STAT_ADD(KS_MBUFS, 1);
	KPI_STAT_ADD(KS_MBUF_BYTES, MSIZE);
	KPI_STAT_ADD(KS_MBUF_ALLOCS, 1);
	return m;
}

static void
cluster_free(void *arg)
{
	struct kpi_cluster *cl = arg;

	if (__atomic_sub_fetch(&cl->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		KPI_STAT_ADD(KS_CLUSTERS, -1);
		KPI_STAT_ADD(KS_MBUF_BYTES, -(long)cl->size);
		hostif_free(cl);
	}
}

static void
cluster_ref(void *arg)
{
	struct kpi_cluster *cl = arg;

	__atomic_fetch_add(&cl->refs, 1, __ATOMIC_RELAXED);
}

static int
cluster_attach(struct mbuf *m, int how, u_int size)
{
	struct kpi_cluster *cl;

	if (mbuf_should_fail(how))
		return ENOBUFS;
	cl = hostif_malloc(sizeof(*cl) + size);
	cl->refs = 1;
	cl->size = size;
	m->m_ext.ext_buf = cl->buf;
	m->m_ext.ext_free = cluster_free;
	m->m_ext.ext_ref = cluster_ref;
	m->m_ext.ext_arg = cl;
	m->m_ext.ext_size = size;
	m->m_data = cl->buf;
	m->m_flags |= M_EXT | M_EXT_CLUSTER;
	KPI_STAT_ADD(KS_CLUSTERS, 1);
	KPI_STAT_ADD(KS_CLUSTER_ALLOCS, 1);
	KPI_STAT_ADD(KS_MBUF_BYTES, size);
	return 0;
}

struct mbuf *
m_get(int how, int type)
{
	return mbuf_alloc(how, type, 0);
}

struct mbuf *
m_gethdr(int how, int type)
{
	return mbuf_alloc(how, type, M_PKTHDR);
}

struct mbuf *
m_getclr(int how, int type)
{
	struct mbuf *m = m_get(how, type);

	if (m != NULL)
		memset(mtod(m, void *), 0, MLEN);
	return m;
}

struct mbuf *
m_getjcl(int how, short type, int flags, size_t size)
{
	struct mbuf *m;

	if (size != MCLBYTES && size != MJUMPAGESIZE && size != MJUM9BYTES &&
	    size != MJUM16BYTES)
		panic("m_getjcl: bad cluster size %zu", size);
	m = mbuf_alloc(how, type, flags & M_PKTHDR);
	if (m == NULL)
		return NULL;
	if (cluster_attach(m, how, (u_int)size) != 0) {
		m_free(m);
		return NULL;
	}
	return m;
}

struct mbuf *
m_getcl(int how, short type, int flags)
{
	return m_getjcl(how, type, flags, MCLBYTES);
}

struct mbuf *
m_getc(int len, int how, int type)
{
	struct mbuf *m, *top = NULL;
	int size;

	while (len > 0) {
		m = m_getl(len, how, type, 0, &size);
		if (m == NULL) {
			if (top != NULL)
				m_freem(top);
			return NULL;
		}
		m->m_len = 0;
		m->m_next = top;
		top = m;
		len -= size;
	}
	return top;
}

void
m_mclget(struct mbuf *m, int how)
{
	cluster_attach(m, how, MCLBYTES);
}

int
m_sharecount(struct mbuf *m)
{
	if (m->m_flags & M_EXT) {
		if (m->m_ext.ext_free == cluster_free)
			return ((struct kpi_cluster *)m->m_ext.ext_arg)->refs;
		return 1;
	}
	return 1;
}

void
m_chtype(struct mbuf *m, int type)
{
	m->m_type = type;
}

struct mbuf *
m_free(struct mbuf *m)
{
	struct mbuf *n;

	if (m == NULL)
		panic("m_free: NULL mbuf");
	if (m->m_hdr.mh_kpi_magic != MBUF_MAGIC)
		panic("m_free: %p is not a live mbuf (magic %#x)", m,
		    m->m_hdr.mh_kpi_magic);
	n = m->m_next;
	if (m->m_flags & M_PKTHDR)
		m_tag_delete_chain(m);
	if (m->m_flags & M_EXT)
		m->m_ext.ext_free(m->m_ext.ext_arg);
	m->m_hdr.mh_kpi_magic = MBUF_DEAD;
	KPI_STAT_ADD(KS_MBUFS, -1);
	KPI_STAT_ADD(KS_MBUF_BYTES, -MSIZE);
	KPI_STAT_ADD(KS_MBUF_FREES, 1);
	hostif_free(m);
	return n;
}

void
m_freem(struct mbuf *m)
{
	while (m != NULL)
		m = m_free(m);
}

void
m_move_pkthdr(struct mbuf *to, struct mbuf *from)
{
	KASSERT((to->m_flags & M_PKTHDR), ("m_move_pkthdr: not packet header"));
	to->m_flags |= from->m_flags & M_COPYFLAGS;
	to->m_pkthdr = from->m_pkthdr;
	SLIST_INIT(&from->m_pkthdr.tags);
	/* DragonFly leaves 'from' with its M_PKTHDR flag; so do we */
}

int
m_dup_pkthdr(struct mbuf *to, const struct mbuf *from, int how __unused)
{
	KASSERT((to->m_flags & M_PKTHDR), ("m_dup_pkthdr: not packet header"));
	to->m_flags = (from->m_flags & M_COPYFLAGS) |
	    (to->m_flags & ~M_COPYFLAGS);
	to->m_pkthdr = from->m_pkthdr;
	SLIST_INIT(&to->m_pkthdr.tags);
	return 0;
}

struct mbuf *
m_prepend(struct mbuf *m, int len, int how)
{
	struct mbuf *mn;

	if (m->m_flags & M_PKTHDR)
		mn = m_gethdr(how, m->m_type);
	else
		mn = m_get(how, m->m_type);
	if (mn == NULL) {
		m_freem(m);
		return NULL;
	}
	if (m->m_flags & M_PKTHDR)
		M_MOVE_PKTHDR(mn, m);
	mn->m_next = m;
	m = mn;
	if (len < MHLEN)
		MH_ALIGN(m, len);
	m->m_len = len;
	return m;
}

void
m_adj(struct mbuf *mp, int req_len)
{
	int len = req_len;
	struct mbuf *m;
	int count;

	if ((m = mp) == NULL)
		return;
	if (len >= 0) {
		while (m != NULL && len > 0) {
			if (m->m_len <= len) {
				len -= m->m_len;
				m->m_len = 0;
				m = m->m_next;
			} else {
				m->m_len -= len;
				m->m_data += len;
				len = 0;
			}
		}
		m = mp;
		if (mp->m_flags & M_PKTHDR)
			m->m_pkthdr.len -= (req_len - len);
	} else {
		len = -len;
		count = 0;
		for (;;) {
			count += m->m_len;
			if (m->m_next == NULL)
				break;
			m = m->m_next;
		}
		if (m->m_len >= len) {
			m->m_len -= len;
			if (mp->m_flags & M_PKTHDR)
				mp->m_pkthdr.len -= len;
			return;
		}
		count -= len;
		if (count < 0)
			count = 0;
		m = mp;
		if (m->m_flags & M_PKTHDR)
			m->m_pkthdr.len = count;
		for (; m; m = m->m_next) {
			if (m->m_len >= count) {
				m->m_len = count;
				break;
			}
			count -= m->m_len;
		}
		while (m->m_next)
			(m = m->m_next)->m_len = 0;
	}
}

void
m_align(struct mbuf *m, int len)
{
	int adjust;

	if (m->m_flags & M_EXT)
		adjust = m->m_ext.ext_size - len;
	else if (m->m_flags & M_PKTHDR)
		adjust = MHLEN - len;
	else
		adjust = MLEN - len;
	m->m_data += rounddown2(adjust, sizeof(long));
}

struct mbuf *
m_pullup(struct mbuf *n, int len)
{
	struct mbuf *m;
	int count;
	int space;

	if (!(n->m_flags & M_EXT) &&
	    n->m_data + len < &n->m_dat[MLEN] &&
	    n->m_next) {
		if (n->m_len >= len)
			return n;
		m = n;
		n = n->m_next;
		len -= m->m_len;
	} else {
		if (len > MHLEN)
			goto bad;
		if (n->m_flags & M_PKTHDR)
			m = m_gethdr(M_NOWAIT, n->m_type);
		else
			m = m_get(M_NOWAIT, n->m_type);
		if (m == NULL)
			goto bad;
		m->m_len = 0;
		if (n->m_flags & M_PKTHDR)
			M_MOVE_PKTHDR(m, n);
	}
	space = &m->m_dat[MLEN] - (m->m_data + m->m_len);
	do {
		count = min(min(max(len, max_protohdr), space), n->m_len);
		bcopy(mtod(n, caddr_t), mtod(m, caddr_t) + m->m_len,
		    (unsigned)count);
		len -= count;
		m->m_len += count;
		n->m_len -= count;
		space -= count;
		if (n->m_len)
			n->m_data += count;
		else
			n = m_free(n);
	} while (len > 0 && n);
	if (len > 0) {
		m_free(m);
		goto bad;
	}
	m->m_next = n;
	return m;
bad:
	m_freem(n);
	return NULL;
}

struct mbuf *
m_copym(const struct mbuf *m, int off0, int len, int wait)
{
	struct mbuf *n, **np, *top;
	int off = off0;
	int copyhdr = 0;

	KASSERT(off >= 0, ("m_copym, negative off %d", off));
	KASSERT(len >= 0, ("m_copym, negative len %d", len));
	if (off == 0 && (m->m_flags & M_PKTHDR))
		copyhdr = 1;
	while (off > 0) {
		KASSERT(m != NULL, ("m_copym, offset > size of mbuf chain"));
		if (off < m->m_len)
			break;
		off -= m->m_len;
		m = m->m_next;
	}
	np = &top;
	top = NULL;
	while (len > 0) {
		if (m == NULL) {
			KASSERT(len == M_COPYALL,
			    ("m_copym, length > size of mbuf chain"));
			break;
		}
		if (copyhdr)
			n = m_gethdr(wait, m->m_type);
		else
			n = m_get(wait, m->m_type);
		*np = n;
		if (n == NULL)
			goto nospace;
		if (copyhdr) {
			m_dup_pkthdr(n, m, wait);
			if (len == M_COPYALL)
				n->m_pkthdr.len -= off0;
			else
				n->m_pkthdr.len = len;
			copyhdr = 0;
		}
		n->m_len = min(len, m->m_len - off);
		if (m->m_flags & M_EXT) {
			m->m_ext.ext_ref(m->m_ext.ext_arg);
			n->m_ext = m->m_ext;
			n->m_flags |= m->m_flags & (M_EXT | M_EXT_CLUSTER);
			n->m_data = m->m_data + off;
		} else {
			bcopy(mtod(m, caddr_t) + off, mtod(n, caddr_t),
			    (unsigned)n->m_len);
		}
		if (len != M_COPYALL)
			len -= n->m_len;
		off = 0;
		m = m->m_next;
		np = &n->m_next;
	}
	return top;
nospace:
	m_freem(top);
	return NULL;
}

struct mbuf *
m_copypacket(struct mbuf *m, int how)
{
	return m_copym(m, 0, M_COPYALL, how);
}

void
m_copydata(const struct mbuf *m, int off, int len, caddr_t cp)
{
	unsigned count;

	KASSERT(off >= 0, ("m_copydata, negative off %d", off));
	KASSERT(len >= 0, ("m_copydata, negative len %d", len));
	while (off > 0) {
		KASSERT(m != NULL, ("m_copydata, offset > size of mbuf chain"));
		if (off < m->m_len)
			break;
		off -= m->m_len;
		m = m->m_next;
	}
	while (len > 0) {
		KASSERT(m != NULL, ("m_copydata, length > size of mbuf chain"));
		count = min(m->m_len - off, len);
		bcopy(mtod(m, caddr_t) + off, cp, count);
		len -= count;
		cp += count;
		off = 0;
		m = m->m_next;
	}
}

void
m_copyback(struct mbuf *m0, int off, int len, caddr_t cp)
{
	int mlen;
	struct mbuf *m = m0, *n;
	int totlen = 0;

	if (m0 == NULL)
		return;
	while (off > (mlen = m->m_len)) {
		off -= mlen;
		totlen += mlen;
		if (m->m_next == NULL) {
			n = m_getclr(M_NOWAIT, m->m_type);
			if (n == NULL)
				goto out;
			n->m_len = min(MLEN, len + off);
			m->m_next = n;
		}
		m = m->m_next;
	}
	while (len > 0) {
		mlen = min(m->m_len - off, len);
		bcopy(cp, off + mtod(m, caddr_t), (unsigned)mlen);
		cp += mlen;
		len -= mlen;
		mlen += off;
		off = 0;
		totlen += mlen;
		if (len == 0)
			break;
		if (m->m_next == NULL) {
			n = m_get(M_NOWAIT, m->m_type);
			if (n == NULL)
				break;
			n->m_len = min(MLEN, len);
			m->m_next = n;
		}
		m = m->m_next;
	}
out:
	if (((m = m0)->m_flags & M_PKTHDR) && (m->m_pkthdr.len < totlen))
		m->m_pkthdr.len = totlen;
}

int
m_append(struct mbuf *m0, int len, c_caddr_t cp)
{
	struct mbuf *m, *n;
	int remainder, space;

	for (m = m0; m->m_next != NULL; m = m->m_next)
		;
	remainder = len;
	space = M_TRAILINGSPACE(m);
	if (space > 0) {
		if (space > remainder)
			space = remainder;
		bcopy(cp, mtod(m, caddr_t) + m->m_len, space);
		m->m_len += space;
		cp += space;
		remainder -= space;
	}
	while (remainder > 0) {
		n = m_get(M_NOWAIT, m->m_type);
		if (n == NULL)
			break;
		n->m_len = min(MLEN, remainder);
		bcopy(cp, mtod(n, caddr_t), n->m_len);
		cp += n->m_len;
		remainder -= n->m_len;
		m->m_next = n;
		m = n;
	}
	if (m0->m_flags & M_PKTHDR)
		m0->m_pkthdr.len += len - remainder;
	return (remainder == 0);
}

void
m_cat(struct mbuf *m, struct mbuf *n)
{
	m = m_last(m);
	while (n) {
		if ((m->m_flags & M_EXT) ||
		    m->m_data + m->m_len + n->m_len >= &m->m_dat[MLEN]) {
			m->m_next = n;
			return;
		}
		bcopy(mtod(n, caddr_t), mtod(m, caddr_t) + m->m_len,
		    (u_int)n->m_len);
		m->m_len += n->m_len;
		n = m_free(n);
	}
}

struct mbuf *
m_last(struct mbuf *m)
{
	while (m->m_next)
		m = m->m_next;
	return m;
}

u_int
m_lengthm(struct mbuf *m, struct mbuf **lastm)
{
	u_int len = 0;
	struct mbuf *prev = m;

	while (m) {
		len += m->m_len;
		prev = m;
		m = m->m_next;
	}
	if (lastm != NULL)
		*lastm = prev;
	return len;
}

u_int
m_countm(struct mbuf *m, struct mbuf **lastm, u_int *pmbcnt)
{
	u_int len = 0, mbcnt = 0;
	struct mbuf *prev = m;

	while (m) {
		len += m->m_len;
		mbcnt += MSIZE;
		if (m->m_flags & M_EXT)
			mbcnt += m->m_ext.ext_size;
		prev = m;
		m = m->m_next;
	}
	if (lastm != NULL)
		*lastm = prev;
	*pmbcnt = mbcnt;
	return len;
}

struct mbuf *
m_getptr(struct mbuf *m, int loc, int *off)
{
	while (loc >= 0) {
		if (m->m_len > loc) {
			*off = loc;
			return m;
		}
		loc -= m->m_len;
		if (m->m_next == NULL) {
			if (loc == 0) {
				*off = m->m_len;
				return m;
			}
			return NULL;
		}
		m = m->m_next;
	}
	return NULL;
}

/* a writable copy of the whole packet in as few mbufs as possible */
struct mbuf *
m_dup(struct mbuf *m, int how)
{
	struct mbuf *top = NULL, **np = &top, *n;
	int off = 0, len, size, flags;

	if (m == NULL)
		return NULL;
	len = (m->m_flags & M_PKTHDR) ? m->m_pkthdr.len :
	    (int)m_lengthm(m, NULL);
	flags = m->m_flags & M_PKTHDR;
	while (off < len || top == NULL) {
		n = m_getl(len - off, how, m->m_type, flags, &size);
		if (n == NULL) {
			m_freem(top);
			return NULL;
		}
		if (flags) {
			m_dup_pkthdr(n, m, how);
			flags = 0;
		}
		n->m_len = min(size, len - off);
		m_copydata(m, off, n->m_len, mtod(n, caddr_t));
		off += n->m_len;
		*np = n;
		np = &n->m_next;
		if (len == 0)
			break;
	}
	return top;
}

struct mbuf *
m_defrag(struct mbuf *m0, int how)
{
	struct mbuf *n = m_dup(m0, how);

	if (n != NULL)
		m_freem(m0);
	return n;
}

struct mbuf *
m_split(struct mbuf *m0, int len0, int wait)
{
	struct mbuf *m, *n;
	unsigned len = len0, remain, len_save;

	for (m = m0; m && (int)len > m->m_len; m = m->m_next)
		len -= m->m_len;
	if (m == NULL)
		return NULL;
	remain = m->m_len - len;
	if (m0->m_flags & M_PKTHDR) {
		n = m_gethdr(wait, m0->m_type);
		if (n == NULL)
			return NULL;
		n->m_pkthdr.rcvif = m0->m_pkthdr.rcvif;
		n->m_pkthdr.len = m0->m_pkthdr.len - len0;
		len_save = m0->m_pkthdr.len;
		m0->m_pkthdr.len = len0;
		if (m->m_flags & M_EXT)
			goto extpacket;
		if (remain > (unsigned)MHLEN) {
			MH_ALIGN(n, 0);
			n->m_next = m_split(m, len, wait);
			if (n->m_next == NULL) {
				m_free(n);
				m0->m_pkthdr.len = len_save;
				return NULL;
			}
			return n;
		} else {
			MH_ALIGN(n, remain);
		}
	} else if (remain == 0) {
		n = m->m_next;
		m->m_next = NULL;
		return n;
	} else {
		n = m_get(wait, m->m_type);
		if (n == NULL)
			return NULL;
		M_ALIGN(n, remain);
	}
extpacket:
	if (m->m_flags & M_EXT) {
		m->m_ext.ext_ref(m->m_ext.ext_arg);
		n->m_ext = m->m_ext;
		n->m_flags |= m->m_flags & (M_EXT | M_EXT_CLUSTER);
		n->m_data = m->m_data + len;
	} else {
		bcopy(mtod(m, caddr_t) + len, mtod(n, caddr_t), remain);
	}
	n->m_len = remain;
	m->m_len = len;
	n->m_next = m->m_next;
	m->m_next = NULL;
	return n;
}

struct mbuf *
m_devget(char *buf, int totlen, int offset __unused, struct ifnet *ifp)
{
	struct mbuf *m, *top = NULL, **mp = &top;
	int flags = M_PKTHDR, size, len;

	while (totlen > 0) {
		m = m_getl(totlen, M_NOWAIT, MT_DATA, flags, &size);
		if (m == NULL) {
			m_freem(top);
			return NULL;
		}
		if (flags) {
			m->m_pkthdr.rcvif = ifp;
			m->m_pkthdr.len = totlen;
			flags = 0;
		}
		len = min(totlen, size);
		bcopy(buf, mtod(m, caddr_t), len);
		m->m_len = len;
		buf += len;
		totlen -= len;
		*mp = m;
		mp = &m->m_next;
	}
	return top;
}

struct mbuf *
m_uiomove(struct uio *uio)
{
	struct mbuf *m, *head = NULL, **mp = &head;
	int flags = M_PKTHDR, nsize, error, resid;

	do {
		resid = uio->uio_resid > INT_MAX ? INT_MAX : (int)uio->uio_resid;
		m = m_getl(resid, M_WAITOK, MT_DATA, flags, &nsize);
		/* DragonFly's m_uiomove() would dereference NULL here */
		if (m == NULL)
			panic("m_uiomove: M_WAITOK mbuf allocation failed");
		if (flags) {
			m->m_pkthdr.len = 0;
			if (resid < MHLEN)
				MH_ALIGN(m, resid);
			flags = 0;
		}
		m->m_len = imin(nsize, resid);
		error = uiomove(mtod(m, caddr_t), m->m_len, uio);
		if (error) {
			m_free(m);
			m_freem(head);
			return NULL;
		}
		*mp = m;
		mp = &m->m_next;
		head->m_pkthdr.len += m->m_len;
	} while (uio->uio_resid > 0);
	return head;
}

/* ---- packet tags ---- */

struct m_tag *
m_tag_alloc(uint32_t cookie, int type, int len, int wait)
{
	struct m_tag *t;

	if (len < 0)
		return NULL;
	t = kmalloc(sizeof(*t) + len, M_PACKET_TAGS,
	    (wait & M_WAITOK) ? M_WAITOK : M_NOWAIT);
	t->m_tag_id = type;
	t->m_tag_len = len;
	t->m_tag_cookie = cookie;
	return t;
}

void
m_tag_free(struct m_tag *t)
{
	kfree(t, M_PACKET_TAGS);
}

void
m_tag_prepend(struct mbuf *m, struct m_tag *t)
{
	SLIST_INSERT_HEAD(&m->m_pkthdr.tags, t, m_tag_link);
}

void
m_tag_unlink(struct mbuf *m, struct m_tag *t)
{
	SLIST_REMOVE(&m->m_pkthdr.tags, t, m_tag, m_tag_link);
}

void
m_tag_delete(struct mbuf *m, struct m_tag *t)
{
	m_tag_unlink(m, t);
	m_tag_free(t);
}

void
m_tag_delete_chain(struct mbuf *m)
{
	struct m_tag *t;

	while ((t = SLIST_FIRST(&m->m_pkthdr.tags)) != NULL) {
		SLIST_REMOVE_HEAD(&m->m_pkthdr.tags, m_tag_link);
		m_tag_free(t);
	}
}

struct m_tag *
m_tag_locate(struct mbuf *m, uint32_t cookie, int type, struct m_tag *t)
{
	struct m_tag *p;

	p = (t == NULL) ? SLIST_FIRST(&m->m_pkthdr.tags) :
	    SLIST_NEXT(t, m_tag_link);
	for (; p != NULL; p = SLIST_NEXT(p, m_tag_link)) {
		if (p->m_tag_cookie == cookie && p->m_tag_id == type)
			return p;
	}
	return NULL;
}

void
m_tag_init(struct mbuf *m)
{
	SLIST_INIT(&m->m_pkthdr.tags);
}

/* ---- uio ---- */

int
uiomove(caddr_t cp, size_t n, struct uio *uio)
{
	struct iovec *iov;
	size_t cnt;
	int error = 0;

	KPI_STAT_ADD(KS_UIOMOVE, 1);
	KASSERT(uio->uio_rw == UIO_READ || uio->uio_rw == UIO_WRITE,
	    ("uiomove: mode"));
	while (n > 0 && uio->uio_resid) {
		KASSERT(uio->uio_iovcnt > 0, ("uiomove: iovcnt"));
		iov = uio->uio_iov;
		cnt = iov->iov_len;
		if (cnt == 0) {
			uio->uio_iov++;
			uio->uio_iovcnt--;
			continue;
		}
		if (cnt > n)
			cnt = n;
		switch (uio->uio_segflg) {
		case UIO_USERSPACE:
			if (uio->uio_rw == UIO_READ)
				error = copyout(cp, iov->iov_base, cnt);
			else
				error = copyin(iov->iov_base, cp, cnt);
			break;
		case UIO_SYSSPACE:
			if (uio->uio_rw == UIO_READ)
				bcopy(cp, iov->iov_base, cnt);
			else
				bcopy(iov->iov_base, cp, cnt);
			break;
		case UIO_NOCOPY:
			break;
		}
		if (error)
			break;
		iov->iov_base = (char *)iov->iov_base + cnt;
		iov->iov_len -= cnt;
		uio->uio_resid -= cnt;
		uio->uio_offset += cnt;
		cp += cnt;
		n -= cnt;
	}
	return error;
}

int
uiomovez(size_t n, struct uio *uio)
{
	static char zeroes[256];
	size_t c;
	int error = 0;

	KASSERT(uio->uio_rw == UIO_READ, ("uiomovez: not a read"));
	while (n > 0 && uio->uio_resid > 0 && error == 0) {
		c = n < sizeof(zeroes) ? n : sizeof(zeroes);
		error = uiomove(zeroes, c, uio);
		n -= c;
	}
	return error;
}

int
uiomove_frombuf(void *buf, size_t buflen, struct uio *uio)
{
	size_t offset = (size_t)uio->uio_offset;

	if (uio->uio_offset < 0 || offset >= buflen)
		return 0;
	return uiomove((char *)buf + offset, buflen - offset, uio);
}
