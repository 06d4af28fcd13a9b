/* kpi: DragonFly-named <net/if_clone.h> */
#ifndef _NET_IF_CLONE_H_
#define _NET_IF_CLONE_H_
#include <sys/types.h>
#include <sys/queue.h>

struct if_clonereq {
	int	ifcr_total;
	int	ifcr_count;
	char	*ifcr_buffer;
};

struct ifnet;
struct if_clone {
	LIST_ENTRY(if_clone) ifc_list;
	const char	*ifc_name;
	int		ifc_minifs;
	int		ifc_maxunit;
	unsigned char	*ifc_units;	/* bitmap: set bit = unit in use */
	int		ifc_bmlen;
	int		(*ifc_create)(struct if_clone *, int, caddr_t, caddr_t);
	int		(*ifc_destroy)(struct ifnet *);
};

#define IF_CLONE_INITIALIZER(name, create, destroy, minifs, maxunit)	\
	{ { 0 }, name, minifs, maxunit, NULL, 0, create, destroy }

int	if_clone_attach(struct if_clone *ifc);
void	if_clone_detach(struct if_clone *ifc);
int	if_clone_create(char *name, int len, caddr_t params, caddr_t data);
int	if_clone_destroy(const char *name);
int	if_clone_list(struct if_clonereq *ifcr);
#endif
