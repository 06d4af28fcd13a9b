/* kpi: DragonFly-named <net/bpf.h> (taps feed the kpi's bpf listeners) */
#ifndef _NET_BPF_H_
#define _NET_BPF_H_
#include <sys/types.h>
#include <net/dlt.h>
struct bpf_if;
struct ifnet;
struct mbuf;
void	bpf_tap(struct bpf_if *, u_char *, u_int);
void	bpf_mtap(struct bpf_if *, struct mbuf *);
void	bpf_mtap_family(struct bpf_if *, struct mbuf *m, uint8_t family);
void	bpf_mtap_hdr(struct bpf_if *, caddr_t, u_int, struct mbuf *, u_int);
void	bpf_ptap(struct bpf_if *, struct mbuf *, const void *, u_int);
void	bpfattach(struct ifnet *, u_int, u_int);
void	bpfattach_dlt(struct ifnet *, u_int, u_int, struct bpf_if **);
void	bpfdetach(struct ifnet *);
void	bpf_gettoken(void);
void	bpf_reltoken(void);
#define BPF_TAP(_ifp, _pkt, _pktlen) do {				\
	if ((_ifp)->if_bpf) {						\
		bpf_gettoken();						\
		if ((_ifp)->if_bpf)					\
			bpf_tap((_ifp)->if_bpf, (_pkt), (_pktlen));	\
		bpf_reltoken();						\
	}								\
} while (0)
#define BPF_MTAP(_ifp, _m) do {						\
	if ((_ifp)->if_bpf) {						\
		bpf_gettoken();						\
		if ((_ifp)->if_bpf)					\
			bpf_mtap((_ifp)->if_bpf, (_m));			\
		bpf_reltoken();						\
	}								\
} while (0)
#endif
