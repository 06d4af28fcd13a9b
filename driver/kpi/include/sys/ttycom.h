/* kpi: DragonFly-named <sys/ttycom.h> (the two ioctls tun uses) */
#ifndef _SYS_TTYCOM_H_
#define _SYS_TTYCOM_H_
#include <sys/ioccom.h>
#define TIOCGPGRP	_IOR('t', 119, int)
#define TIOCSPGRP	_IOW('t', 118, int)
#endif
