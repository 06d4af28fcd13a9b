/* kpi: DragonFly-named <sys/sockio.h> */
#ifndef _SYS_SOCKIO_H_
#define _SYS_SOCKIO_H_
#include <sys/ioccom.h>
struct ifreq;
struct ifaliasreq;
struct ifstat;
struct if_clonereq;
struct ifgroupreq;
struct if_laddrreq;
struct ifconf;
struct ifmediareq;
struct ifdrv;
#define SIOCSHIWAT	_IOW('s', 0, int)
#define SIOCGHIWAT	_IOR('s', 1, int)
#define SIOCSLOWAT	_IOW('s', 2, int)
#define SIOCGLOWAT	_IOR('s', 3, int)
#define SIOCATMARK	_IOR('s', 7, int)
#define SIOCSPGRP	_IOW('s', 8, int)
#define SIOCGPGRP	_IOR('s', 9, int)
#define SIOCSIFADDR	_IOW('i', 12, struct ifreq)
#define SIOCGIFADDR	_IOWR('i', 33, struct ifreq)
#define SIOCSIFDSTADDR	_IOW('i', 14, struct ifreq)
#define SIOCGIFDSTADDR	_IOWR('i', 34, struct ifreq)
#define SIOCSIFFLAGS	_IOW('i', 16, struct ifreq)
#define SIOCGIFFLAGS	_IOWR('i', 17, struct ifreq)
#define SIOCGIFBRDADDR	_IOWR('i', 35, struct ifreq)
#define SIOCSIFBRDADDR	_IOW('i', 19, struct ifreq)
#define SIOCGIFCONF	_IOWR('i', 36, struct ifconf)
#define SIOCGIFNETMASK	_IOWR('i', 37, struct ifreq)
#define SIOCSIFNETMASK	_IOW('i', 22, struct ifreq)
#define SIOCGIFMETRIC	_IOWR('i', 23, struct ifreq)
#define SIOCSIFMETRIC	_IOW('i', 24, struct ifreq)
#define SIOCDIFADDR	_IOW('i', 25, struct ifreq)
#define SIOCAIFADDR	_IOW('i', 26, struct ifaliasreq)
#define SIOCSIFCAP	_IOW('i', 30, struct ifreq)
#define SIOCGIFCAP	_IOWR('i', 31, struct ifreq)
#define SIOCGIFINDEX	_IOWR('i', 32, struct ifreq)
#define SIOCGIFDATA	_IOWR('i', 38, struct ifreq)
#define SIOCSIFNAME	_IOW('i', 40, struct ifreq)
#define SIOCGIFALIAS	_IOWR('i', 41, struct ifaliasreq)
#define SIOCADDMULTI	_IOW('i', 49, struct ifreq)
#define SIOCDELMULTI	_IOW('i', 50, struct ifreq)
#define SIOCGIFMTU	_IOWR('i', 51, struct ifreq)
#define SIOCSIFMTU	_IOW('i', 52, struct ifreq)
#define SIOCGIFPHYS	_IOWR('i', 53, struct ifreq)
#define SIOCSIFPHYS	_IOW('i', 54, struct ifreq)
#define SIOCSIFMEDIA	_IOWR('i', 55, struct ifreq)
#define SIOCGIFMEDIA	_IOWR('i', 56, struct ifmediareq)
#define SIOCSIFGENERIC	_IOW('i', 57, struct ifreq)
#define SIOCGIFGENERIC	_IOWR('i', 58, struct ifreq)
#define SIOCGIFSTATUS	_IOWR('i', 59, struct ifstat)
#define SIOCSIFLLADDR	_IOW('i', 60, struct ifreq)
#define SIOCIFGCLONERS	_IOWR('i', 120, struct if_clonereq)
#define SIOCIFDESTROY	_IOW('i', 121, struct ifreq)
#define SIOCIFCREATE	_IOWR('i', 122, struct ifreq)
#define SIOCIFCREATE2	_IOWR('i', 124, struct ifreq)
#define SIOCSIFTSOLEN	_IOW('i', 127, struct ifreq)
#define SIOCGIFTSOLEN	_IOWR('i', 128, struct ifreq)
#define SIOCAIFGROUP	_IOW('i', 135, struct ifgroupreq)
#define SIOCGIFGROUP	_IOWR('i', 136, struct ifgroupreq)
#define SIOCDIFGROUP	_IOW('i', 137, struct ifgroupreq)
#define SIOCGIFGMEMB	_IOWR('i', 138, struct ifgroupreq)
#endif
