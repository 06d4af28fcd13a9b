/*
 * test_era2010.c - the kpi's compat/2010 layer, through the 2009-2017-style
 * fixture (eras/2010/if_tun.c): the generated use_tun.h (NTUN 1: four
 * pre-made units), the autoclone /dev/tun handing out tun4 and up from a
 * bitmap the old DEVFS_DECLARE_CLONE_BITMAP() defined, kqueue readiness
 * woken from a one-argument if_start around ifnet_(de)serialize_tx(ifp),
 * the exact send queue limit with ENOBUFS and IF_DROP(), the old sigio
 * calls, a pseudo-device that refuses to unload.
 */
#include "era_check.h"

int
main(void)
{
	struct kpi_kevent kev, ev[4];
	struct kpi_timespec ts = { 0, 0 };
	struct kpi_ifstats is;
	unsigned int uid, gid;
	int mode, fd, fd2, kq, n, v, r;
	long sigios;
	char buf[64], name[32];

	era_boot();
	kpi_setproc(1);

	ERA_CHECK(kpi_devstat("/dev/tun", &uid, &gid, &mode) == 0,
	    "the /dev/tun autoclone node");
	for (n = 0; n < 4; n++) {
		snprintf(buf, sizeof(buf), "/dev/tun%d", n);
		ERA_CHECK(kpi_devstat(buf, &uid, &gid, &mode) == 0,
		    "%s pre-made (NTUN from the generated use_tun.h)", buf);
	}
	fd = kpi_open("/dev/tun", KPI_O_RDWR | KPI_O_NONBLOCK);
	ERA_CHECK(fd >= 0, "open /dev/tun: %s", strerror(errno));
	ERA_CHECK(kpi_fdevname(fd, name, sizeof(name)) == 0 &&
	    strcmp(name, "tun4") == 0, "the first clone is tun4: %s", name);
	fd2 = kpi_open("/dev/tun", KPI_O_RDWR);
	ERA_CHECK(fd2 >= 0 && kpi_fdevname(fd2, name, sizeof(name)) == 0 &&
	    strcmp(name, "tun5") == 0, "the next clone is tun5: %s", name);
	kpi_close(fd2);
	fd2 = kpi_open("/dev/tun2", KPI_O_RDWR);
	ERA_CHECK(fd2 >= 0, "a pre-made unit opens: %s", strerror(errno));
	kpi_close(fd2);

	kq = kpi_kqueue();
	memset(&kev, 0, sizeof(kev));
	kev.ident = (uintptr_t)fd;
	kev.filter = KPI_EVFILT_READ;
	kev.flags = KPI_EV_ADD;
	ERA_CHECK(kpi_kevent(kq, &kev, 1, NULL, 0, NULL) == 0, "EVFILT_READ added");
	ERA_CHECK(kpi_kevent(kq, NULL, 0, ev, 4, &ts) == 0, "empty: not readable");

	for (n = 0; n < 3; n++)
		ERA_CHECK(kpi_write(fd, "packet", 3 + (size_t)n) == 3 + n,
		    "write %d queued", n);
	r = kpi_kevent(kq, NULL, 0, ev, 4, &ts);
	ERA_CHECK(r == 1 && ev[0].filter == KPI_EVFILT_READ,
	    "KNOTE from the one-argument if_start made it readable (r %d)", r);
	ERA_CHECK(kpi_write(fd, "full", 4) < 0 && errno == ENOBUFS,
	    "the queue holds exactly its ifq_set_maxlen(): ENOBUFS");
	ERA_CHECK(kpi_ifstats("tun4", &is) == 0 && is.opackets == 3 &&
	    is.oerrors == 1 && is.oqdrops == 1 && is.snd_maxlen == 3,
	    "if_opackets++, if_oerrors++, IF_DROP() counted (%ld %ld %ld, max %ld)",
	    is.opackets, is.oerrors, is.oqdrops, is.snd_maxlen);
	ERA_CHECK(kpi_ioctl(fd, KPI_FIONREAD, &v) == 0 && v == 3,
	    "FIONREAD through ifq_poll(): %d", v);
	for (n = 0; n < 3; n++)
		ERA_CHECK(kpi_read(fd, buf, sizeof(buf)) == 3 + n,
		    "read %d: ifq_dequeue(ifq, NULL)", n);
	ERA_CHECK(kpi_kevent(kq, NULL, 0, ev, 4, &ts) == 0, "drained: not readable");
	kpi_close(kq);

	sigios = era_sigios();
	v = kpi_getpid();
	ERA_CHECK(kpi_ioctl(fd, KPI_FIOSETOWN, &v) == 0, "FIOSETOWN");
	v = 0;
	ERA_CHECK(kpi_ioctl(fd, KPI_FIOGETOWN, &v) == 0 && v == kpi_getpid(),
	    "fgetown(sigio): %d", v);
	ERA_CHECK(kpi_close(fd) == 0, "close");
	ERA_CHECK(era_sigios() == sigios, "funsetown(sigio) freed it (%ld -> %ld)",
	    sigios, era_sigios());
	ERA_CHECK(kpi_kldunload("if_tun") < 0 && errno == EINVAL,
	    "a PSEUDO_SET pseudo-device cannot unload: EINVAL");
	return era_done("era 2010 (compat/2010)");
}
