/* kpi: DragonFly-named <sys/uio.h> */
#ifndef _SYS_UIO_H_
#define _SYS_UIO_H_
#include <sys/types.h>
struct thread;
struct iovec {
	void	*iov_base;
	size_t	 iov_len;
};
enum uio_rw { UIO_READ, UIO_WRITE };
enum uio_seg { UIO_USERSPACE, UIO_SYSSPACE, UIO_NOCOPY };
struct uio {
	struct iovec	*uio_iov;
	int		uio_iovcnt;
	off_t		uio_offset;
	size_t		uio_resid;
	enum uio_seg	uio_segflg;
	enum uio_rw	uio_rw;
	struct thread	*uio_td;
};
#define UIO_MAXIOV	1024
int	uiomove(caddr_t, size_t, struct uio *);
int	uiomovez(size_t, struct uio *);	/* copies zeroes */
int	uiomove_frombuf(void *buf, size_t buflen, struct uio *uio);
#endif
