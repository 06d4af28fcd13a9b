/* kpi: DragonFly-named <sys/ucred.h> */
#ifndef _SYS_UCRED_H_
#define _SYS_UCRED_H_
#include <sys/types.h>
struct prison;
struct ucred {
	int		cr_ref;
	uid_t		cr_uid;		/* effective user id */
	short		cr_ngroups;
	gid_t		cr_groups[16];	/* cr_groups[0] is the egid */
	struct prison	*cr_prison;
	uid_t		cr_ruid;
	uid_t		cr_svuid;
	gid_t		cr_rgid;
	gid_t		cr_svgid;
};
#define cr_gid		cr_groups[0]
#define NOCRED		((struct ucred *)0)
#define FSCRED		((struct ucred *)-1)
struct ucred *crhold(struct ucred *);
void	crfree(struct ucred *);
struct ucred *crget(void);
struct ucred *crdup(struct ucred *);
int	groupmember(gid_t, struct ucred *);
#endif
