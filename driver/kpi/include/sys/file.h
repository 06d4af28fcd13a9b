/* kpi: DragonFly-named <sys/file.h> (the kpi's open-file object) */
#ifndef _SYS_FILE_H_
#define _SYS_FILE_H_
#include <sys/types.h>
#include <sys/fcntl.h>
#include <sys/queue.h>
struct ucred;
struct cdev;
struct knote;
struct fileops_kpi;
#define DTYPE_VNODE	1
#define DTYPE_SOCKET	2
#define DTYPE_KQUEUE	5
struct file {
	int		f_flag;		/* FREAD, FWRITE, FNONBLOCK, FASYNC */
	int		f_type;
	int		f_count;
	struct ucred	*f_cred;
	void		*f_data;	/* kpi: struct cdev, socket or kqueue */
	struct cdev	*f_kpi_dev;
	int		f_kpi_fd;
	const struct fileops_kpi *f_kpi_ops;
	SLIST_HEAD(, knote) f_kpi_knotes;
};
#endif
