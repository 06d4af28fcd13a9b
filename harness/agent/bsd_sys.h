/*
 * bsd_sys.h - the minimal system-call interface backend_bsd.c is written
 * against.  The backend uses the kpi_ names, KPI_ constants and struct
 * kpi_ types of driver/kpi/include-host/kpi_sys.h:
 *
 *  - on the host (the kpi target, -DTUNLAB_KPI) they are the kpi emulation
 *    of DragonFly's kernel, with the unmodified driver linked in;
 *  - on DragonFly they map onto libc and the system's headers below.
 *
 * Only the names backend_bsd.c uses are mapped.  The DragonFly half is
 * compile-checked on the host against a DragonFly userland include tree
 * (scripts/check-agent-dfly.sh, with TUNLAB_DFLY_SRC=<DragonFly source
 * tree>); the guest build is its real test.
 *
 * Include this file before any system header: on DragonFly it defines
 * _KERNEL_STRUCTURES, which must hold for every header of the translation
 * unit (see below).
 */
#ifndef TUNLAB_BSD_SYS_H
#define TUNLAB_BSD_SYS_H

#ifdef TUNLAB_KPI

#include "kpi_sys.h"
#define BSD_SYS_KPI	1

#else	/* DragonFly: libc */

/*
 * struct mbstat (be_kstats) is visible to userland only with
 * _KERNEL_STRUCTURES, as in DragonFly's netstat, which defines it before its
 * first include.  It must come first: netinet/in_var.h reaches sys/mbuf.h
 * (net/if_var.h -> net/altq/if_altq.h), and sys/types.h and sys/mbuf.h keep
 * what their first inclusion exposed (include guards).
 */
#if (defined(_SYS_TYPES_H_) || defined(_SYS_MBUF_H_)) && !defined(_KERNEL_STRUCTURES)
#error "bsd_sys.h must be included before any system header"
#endif
#ifndef _KERNEL_STRUCTURES
#define _KERNEL_STRUCTURES
#endif

#include <sys/param.h>
#include <sys/types.h>
#include <sys/event.h>
#include <sys/ioctl.h>
#include <sys/linker.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <sys/stat.h>
#include <sys/sysctl.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <net/if.h>
#include <net/bpf.h>
#include <net/tun/if_tun.h>
#include <netinet/in.h>
#include <netinet/in_var.h>
#include <netinet6/in6_var.h>
#include <ifaddrs.h>
#include <sys/mbuf.h>		/* struct mbstat */

#define BSD_SYS_KPI	0

#define kpi_open		open
#define kpi_close		close
#define kpi_read		read
#define kpi_write		write
#define kpi_ioctl		ioctl
#define kpi_fcntl		fcntl
#define kpi_socket		socket
#define kpi_bind		bind
#define kpi_getsockname(s, sa, l)	getsockname((s), (sa), (socklen_t *)(l))
#define kpi_sendto		sendto
#define kpi_poll(f, n, t)	poll((f), (nfds_t)(n), (t))
#define kpi_errno()		errno
#define kpi_kqueue		kqueue
#define kpi_kevent		kevent		/* the call and struct kevent */
#define kpi_sysctlbyname	sysctlbyname

#define kpi_sockaddr		sockaddr
#define kpi_sockaddr_in		sockaddr_in
#define kpi_sockaddr_in6	sockaddr_in6
#define kpi_in_addr		in_addr
#define kpi_in6_addr		in6_addr
#define kpi_ifreq		ifreq
#define kpi_in_aliasreq		in_aliasreq
#define kpi_in6_aliasreq	in6_aliasreq
#define kpi_tuninfo		tuninfo
#define kpi_pollfd		pollfd
#define kpi_timespec		timespec
#define kpi_ifstat		ifstat
#define kpi_ifgroupreq		ifgroupreq
#define kpi_ifg_req		ifg_req

#define KPI_IFNAMSIZ		IFNAMSIZ
#define KPI_AF_INET		AF_INET
#define KPI_AF_INET6		AF_INET6
#define KPI_SOCK_DGRAM		SOCK_DGRAM
#define KPI_O_RDWR		O_RDWR
#define KPI_O_NONBLOCK		O_NONBLOCK
#define KPI_F_GETFL		F_GETFL
#define KPI_F_SETFL		F_SETFL
#define KPI_POLLIN		POLLIN
#define KPI_POLLOUT		POLLOUT
#define KPI_EVFILT_READ		EVFILT_READ
#define KPI_EVFILT_WRITE	EVFILT_WRITE
#define KPI_EV_ADD		EV_ADD
#define KPI_EV_EOF		EV_EOF
#define KPI_IFF_UP		IFF_UP
#define KPI_FIONREAD		FIONREAD
#define KPI_FIONBIO		FIONBIO
#define KPI_FIOASYNC		FIOASYNC
#define KPI_FIOSETOWN		FIOSETOWN
#define KPI_FIOGETOWN		FIOGETOWN
#define KPI_TIOCSPGRP		TIOCSPGRP
#define KPI_TIOCGPGRP		TIOCGPGRP
#define KPI_SIOCSIFDSTADDR	SIOCSIFDSTADDR
#define KPI_SIOCSIFFLAGS	SIOCSIFFLAGS
#define KPI_SIOCGIFFLAGS	SIOCGIFFLAGS
#define KPI_SIOCAIFADDR		SIOCAIFADDR
#define KPI_SIOCGIFINDEX	SIOCGIFINDEX
#define KPI_SIOCSIFNAME		SIOCSIFNAME
#define KPI_SIOCGIFMTU		SIOCGIFMTU
#define KPI_SIOCSIFMTU		SIOCSIFMTU
#define KPI_SIOCIFCREATE2	SIOCIFCREATE2
#define KPI_SIOCIFDESTROY	SIOCIFDESTROY
#define KPI_SIOCGIFSTATUS	SIOCGIFSTATUS
#define KPI_SIOCGIFGROUP	SIOCGIFGROUP
#define KPI_SIOCAIFADDR_IN6	SIOCAIFADDR_IN6
#define KPI_TUNGDEBUG		TUNGDEBUG
#define KPI_TUNSDEBUG		TUNSDEBUG
#define KPI_TUNSIFINFO		TUNSIFINFO
#define KPI_TUNGIFINFO		TUNGIFINFO
#define KPI_TUNSLMODE		TUNSLMODE
#define KPI_TUNSIFMODE		TUNSIFMODE
#define KPI_TUNSIFPID		TUNSIFPID
#define KPI_TUNSIFHEAD		TUNSIFHEAD
#define KPI_TUNGIFHEAD		TUNGIFHEAD
#define KPI_TUNGIFNAME		TUNGIFNAME

/* be_thread_interrupt(): caught without SA_RESTART, so a blocked read(2) gets EINTR */
#define BE_INTERRUPT_SIGNAL	SIGUSR2

#endif	/* TUNLAB_KPI */
#endif	/* TUNLAB_BSD_SYS_H */
