/*
 * args.h - typed request arguments. Each getter either stores the value and returns 0, or
 * builds the error reply (EARG naming the key, or ENOHANDLE) and returns -1, so a handler
 * reads:	if (arg_int(rq, "ms", 0, 600000, &ms) < 0) return -1;
 */
#ifndef TUNLAB_ARGS_H
#define TUNLAB_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "handles.h"
#include "protocol.h"

/* EARG for the first key of rq not in allowed (comma-separated). */
int args_check_known(const struct request *rq, const char *allowed);

/* Integer in [lo, hi]; the _opt form gives def when the key is absent. */
int arg_int(const struct request *rq, const char *key, long long lo, long long hi,
    long long *v);
int arg_int_opt(const struct request *rq, const char *key, long long lo, long long hi,
    long long def, long long *v);
/* 0 or 1, def when absent. */
int arg_bool_opt(const struct request *rq, const char *key, int def, int *v);

/* A word ([A-Za-z0-9_./:,+-]+); *v NULL when the optional key is absent. */
int arg_word(const struct request *rq, const char *key, const char **v);
int arg_word_opt(const struct request *rq, const char *key, const char **v);

/* An interface name: a word shorter than BE_IFNAMSIZ without '/'. */
int arg_ifname(const struct request *rq, const char *key, const char **v);
int arg_ifname_opt(const struct request *rq, const char *key, const char **v);

/* IPv4 a.b.c.d, a.b.c.d/len (len 0..32), IPv6 x::y/len (len 0..128). */
int arg_in4(const struct request *rq, const char *key, struct be_in4 *a);
int arg_in4_prefix(const struct request *rq, const char *key, struct be_in4 *a, int *len);
int arg_in6_prefix(const struct request *rq, const char *key, struct be_in6 *a, int *len);
int arg_in6(const struct request *rq, const char *key, struct be_in6 *a);	/* x::y */

/* A hex blob of at most cap bytes. */
int arg_blob(const struct request *rq, const char *key, uint8_t *buf, size_t cap,
    size_t *n);

/* h=: an open device (EARG if h= is missing or bad, ENOHANDLE if nothing has it). */
int arg_handle(const struct request *rq, struct handle **h);

#endif /* TUNLAB_ARGS_H */
