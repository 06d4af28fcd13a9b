/* kpi: DragonFly's open(2) and file flags */
#ifndef _SYS_FCNTL_H_
#define _SYS_FCNTL_H_
#define O_RDONLY	0x0000
#define O_WRONLY	0x0001
#define O_RDWR		0x0002
#define O_ACCMODE	0x0003
#define FREAD		0x0001
#define FWRITE		0x0002
#define O_NONBLOCK	0x0004
#define O_APPEND	0x0008
#define O_ASYNC		0x0040
#define O_EXCL		0x0800
#define O_NOCTTY	0x8000
#define O_CLOEXEC	0x00020000
#define FFLAGS(oflags)	((oflags) + 1)
#define OFLAGS(fflags)	((fflags) - 1)
#define FASYNC		O_ASYNC
#define FNONBLOCK	O_NONBLOCK
#define FNDELAY		O_NONBLOCK
#define O_NDELAY	O_NONBLOCK
#endif
