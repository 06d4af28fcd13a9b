/*
 * test_era2008.c - the kpi's compat/2008 layer, through the 2008-style
 * fixture (eras/2008/if_tun.c): static /dev/tunN nodes and no /dev/tun,
 * make_dev() on an existing (major, minor), d_poll readiness with
 * selrecord/selwakeup (poll() sleeps and is woken), the exact send queue
 * limit with ENOBUFS, the one-argument if_start, the old sigio calls, a
 * pseudo-device that refuses to unload.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "era_check.h"

static int wfd;

static void *
late_writer(void *arg)
{
	(void)arg;
	kpi_setproc(1);
	usleep(200 * 1000);
	(void)kpi_write(wfd, "late", 4);
	kpi_thread_exit();
	return NULL;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(void)
{
	struct kpi_pollfd p;
	struct kpi_ifstats is;
	unsigned int uid, gid;
	int mode, fd, fd2, n, v, r;
	long cdevs, sigios;
	char buf[64];
	pthread_t th;
	double t0;

	era_boot();
	kpi_setproc(1);

	ERA_CHECK(kpi_open("/dev/tun", KPI_O_RDWR) < 0 && errno == ENOENT,
	    "no /dev/tun before devfs");
	for (n = 0; n < 4; n++) {
		snprintf(buf, sizeof(buf), "/dev/tun%d", n);
		ERA_CHECK(kpi_devstat(buf, &uid, &gid, &mode) == 0,
		    "%s made at attach (dev_ops_add)", buf);
	}
	ERA_CHECK(kpi_devstat("/dev/tun4", &uid, &gid, &mode) < 0,
	    "only MAKEDEV's four nodes");
	ERA_CHECK(kpi_ifstats("tun0", &is) < 0 || !is.exists,
	    "no interface before the first open");

	cdevs = era_cdevs();
	fd = kpi_open("/dev/tun0", KPI_O_RDWR | KPI_O_NONBLOCK);
	ERA_CHECK(fd >= 0, "open /dev/tun0: %s", strerror(errno));
	ERA_CHECK(era_cdevs() == cdevs,
	    "make_dev() on the node's (major, minor) made no cdev (%ld -> %ld)",
	    cdevs, era_cdevs());
	ERA_CHECK(kpi_ifstats("tun0", &is) == 0 && is.exists,
	    "the open attached tun0");
	ERA_CHECK(kpi_open("/dev/tun0", KPI_O_RDWR) < 0 && errno == EBUSY,
	    "a second open: EBUSY");
	fd2 = kpi_open("/dev/tun1", KPI_O_RDWR);
	ERA_CHECK(fd2 >= 0, "another static unit opens");

	p.fd = fd;
	p.events = KPI_POLLIN | KPI_POLLOUT;
	p.revents = 0;
	r = kpi_poll(&p, 1, 0);
	ERA_CHECK(r == 1 && p.revents == KPI_POLLOUT,
	    "empty: d_poll gives POLLOUT only (r %d revents %#x)", r, p.revents);
	p.events = KPI_POLLIN;
	t0 = now();
	r = kpi_poll(&p, 1, 100);
	ERA_CHECK(r == 0 && now() - t0 >= 0.09,
	    "poll times out on an empty queue (r %d, %.3f s)", r, now() - t0);

	for (n = 0; n < 3; n++)
		ERA_CHECK(kpi_write(fd, "packet", 3 + (size_t)n) == 3 + n,
		    "write %d queued", n);
	ERA_CHECK(kpi_write(fd, "full", 4) < 0 && errno == ENOBUFS,
	    "the queue holds exactly its ifq_set_maxlen(): ENOBUFS");
	ERA_CHECK(kpi_ifstats("tun0", &is) == 0 && is.opackets == 3 &&
	    is.collisions == 1 && is.snd_len == 3 && is.snd_maxlen == 3,
	    "if_opackets++ / if_collisions++ counted (%ld, %ld, queue %ld/%ld)",
	    is.opackets, is.collisions, is.snd_len, is.snd_maxlen);
	p.events = KPI_POLLIN | KPI_POLLOUT;
	r = kpi_poll(&p, 1, 0);
	ERA_CHECK(r == 1 && p.revents == (KPI_POLLIN | KPI_POLLOUT),
	    "queued: POLLIN|POLLOUT (revents %#x)", p.revents);
	ERA_CHECK(kpi_ioctl(fd, KPI_FIONREAD, &v) == 0 && v == 3,
	    "FIONREAD through ifq_poll(): %d", v);
	for (n = 0; n < 3; n++)
		ERA_CHECK(kpi_read(fd, buf, sizeof(buf)) == 3 + n,
		    "read %d: ifq_dequeue(ifq, NULL)", n);
	ERA_CHECK(kpi_read(fd, buf, sizeof(buf)) < 0 && errno == EAGAIN,
	    "empty again: EWOULDBLOCK");

	/* a poller asleep in select is woken by selwakeup() from if_start */
	wfd = fd;
	p.events = KPI_POLLIN;
	p.revents = 0;
	pthread_create(&th, NULL, late_writer, NULL);
	t0 = now();
	r = kpi_poll(&p, 1, 5000);
	ERA_CHECK(r == 1 && (p.revents & KPI_POLLIN) && now() - t0 < 4.0,
	    "selwakeup() woke the poller (r %d revents %#x after %.3f s)", r,
	    p.revents, now() - t0);
	pthread_join(th, NULL);
	ERA_CHECK(kpi_read(fd, buf, sizeof(buf)) == 4, "the late packet");

	sigios = era_sigios();
	v = kpi_getpid();
	ERA_CHECK(kpi_ioctl(fd, KPI_FIOSETOWN, &v) == 0, "FIOSETOWN");
	v = 0;
	ERA_CHECK(kpi_ioctl(fd, KPI_FIOGETOWN, &v) == 0 && v == kpi_getpid(),
	    "fgetown(sigio): %d", v);
	ERA_CHECK(kpi_close(fd) == 0, "close");
	ERA_CHECK(era_sigios() == sigios, "funsetown(sigio) freed it (%ld -> %ld)",
	    sigios, era_sigios());
	ERA_CHECK(kpi_close(fd2) == 0, "close tun1");

	fd = kpi_open("/dev/tun0", KPI_O_RDWR);
	ERA_CHECK(fd >= 0 && era_cdevs() == cdevs,
	    "reopened: the same node, the same interface");
	kpi_close(fd);
	ERA_CHECK(kpi_kldunload("if_tun") < 0 && errno == EINVAL,
	    "a PSEUDO_SET pseudo-device cannot unload: EINVAL");
	return era_done("era 2008 (compat/2008)");
}
