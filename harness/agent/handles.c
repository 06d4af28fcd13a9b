/*
 * handles.c - the table of open devices (see handles.h).
 */
#include "handles.h"

#include <stdio.h>
#include <string.h>

static struct handle handles[MAX_HANDLES];
static long next_id = 1;

struct handle *
handle_add(int fd, const char *ifname)
{
	for (int i = 0; i < MAX_HANDLES; i++) {
		struct handle *h = &handles[i];

		if (h->id != 0)
			continue;
		h->id = next_id++;
		h->fd = fd;
		snprintf(h->ifname, sizeof(h->ifname), "%s", ifname);
		return h;
	}
	return NULL;
}

struct handle *
handle_find(long id)
{
	if (id <= 0)
		return NULL;
	for (int i = 0; i < MAX_HANDLES; i++)
		if (handles[i].id == id)
			return &handles[i];
	return NULL;
}

void
handle_remove(struct handle *h)
{
	memset(h, 0, sizeof(*h));
}
