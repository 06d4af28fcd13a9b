/*
 * handles.h - the table of open devices: protocol handle (h=) -> backend descriptor.
 * Handles count up from 1 and are never reused while the agent runs, so a stale h= gives
 * ENOHANDLE instead of reaching another device.
 */
#ifndef TUNLAB_HANDLES_H
#define TUNLAB_HANDLES_H

#include "backend.h"

#define MAX_HANDLES	64

struct handle {
	long id;			/* 0: free slot */
	int fd;				/* the backend's descriptor */
	char ifname[BE_IFNAMSIZ];
};

/* Records an open device; returns its handle, or NULL when the table is full. */
struct handle *handle_add(int fd, const char *ifname);
/* The handle with this id, or NULL. */
struct handle *handle_find(long id);
/* Frees a slot. */
void handle_remove(struct handle *h);

#endif /* TUNLAB_HANDLES_H */
