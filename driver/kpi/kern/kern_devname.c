/*
 * kern_devname.c - the device name behind a descriptor, as DragonFly's
 * fdevname(3) reads it (FIODNAME): how a program learns which unit the
 * /dev/tun autoclone gave it from a driver without TUNGIFNAME.
 */
#include "kpi_kern.h"
#include <sys/conf.h>
#include <sys/file.h>

int
kpik_fdevname(int fd, char *buf, kpik_size_t len)
{
	struct file *fp;
	int error;

	if (buf == NULL || len == 0)
		return (EINVAL);
	error = kpi_fget(fd, &fp);
	if (error)
		return (error);
	if (fp->f_type != DTYPE_VNODE || fp->f_kpi_dev == NULL) {
		kpi_fdrop(fp);
		return (EINVAL);
	}
	if (strlcpy(buf, fp->f_kpi_dev->si_name, len) >= len)
		error = ERANGE;
	kpi_fdrop(fp);
	return (error);
}
