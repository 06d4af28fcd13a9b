/*
 * args.c - typed request arguments (see args.h).
 */
#include "args.h"

#include <sys/types.h>
#include <sys/socket.h>		/* AF_INET, AF_INET6: DragonFly's <arpa/inet.h> lacks them */
#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int
earg(const struct request *rq, const char *key, const char *what)
{
	return reply_err(rq->id, "EARG", 0, "%s: %s", key, what);
}

int
args_check_known(const struct request *rq, const char *allowed)
{
	for (int i = 0; i < rq->nargs; i++) {
		const char *k = rq->args[i].key, *p = allowed;
		size_t kl = strlen(k);
		int found = 0;

		while (*p && !found) {
			size_t wl = strcspn(p, ",");

			found = wl == kl && memcmp(p, k, kl) == 0;
			p += wl;
			if (*p == ',')
				p++;
		}
		if (!found)
			return reply_err(rq->id, "EARG", 0, "%s: unknown key for %s", k,
			    rq->verb);
	}
	return 0;
}

int
arg_int_opt(const struct request *rq, const char *key, long long lo, long long hi,
    long long def, long long *v)
{
	const char *s = request_get(rq, key);

	if (!s) {
		*v = def;
		return 0;
	}
	if (parse_int(s, v) < 0)
		return earg(rq, key, "not an integer");
	if (*v < lo || *v > hi)
		return reply_err(rq->id, "EARG", 0, "%s: out of range %lld..%lld", key, lo,
		    hi);
	return 0;
}

int
arg_int(const struct request *rq, const char *key, long long lo, long long hi,
    long long *v)
{
	if (!request_get(rq, key))
		return earg(rq, key, "missing");
	return arg_int_opt(rq, key, lo, hi, 0, v);
}

int
arg_bool_opt(const struct request *rq, const char *key, int def, int *v)
{
	long long x;

	if (arg_int_opt(rq, key, 0, 1, def, &x) < 0)
		return -1;
	*v = (int)x;
	return 0;
}

int
arg_word_opt(const struct request *rq, const char *key, const char **v)
{
	const char *s = request_get(rq, key);

	*v = NULL;
	if (!s)
		return 0;
	if (!is_word(s))
		return earg(rq, key, "not a word");
	*v = s;
	return 0;
}

int
arg_word(const struct request *rq, const char *key, const char **v)
{
	if (!request_get(rq, key))
		return earg(rq, key, "missing");
	return arg_word_opt(rq, key, v);
}

int
arg_ifname_opt(const struct request *rq, const char *key, const char **v)
{
	if (arg_word_opt(rq, key, v) < 0)
		return -1;
	if (*v && (strlen(*v) >= BE_IFNAMSIZ || strchr(*v, '/') || (*v)[0] == '.'))
		return earg(rq, key, "not an interface name");
	return 0;
}

int
arg_ifname(const struct request *rq, const char *key, const char **v)
{
	if (!request_get(rq, key))
		return earg(rq, key, "missing");
	return arg_ifname_opt(rq, key, v);
}

/* Splits "addr/len" into buf (the address) and *len; -1 if malformed. */
static int
split_prefix(const char *s, char *buf, size_t cap, int maxlen, int *len)
{
	const char *slash = strchr(s, '/');
	long long l;

	if (!slash || (size_t)(slash - s) >= cap)
		return -1;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (slash[1] < '0' || slash[1] > '9' || parse_int(slash + 1, &l) < 0 || l < 0 ||
	    l > maxlen)
		return -1;
	*len = (int)l;
	return 0;
}

int
arg_in4(const struct request *rq, const char *key, struct be_in4 *a)
{
	const char *s = request_get(rq, key);

	if (!s)
		return earg(rq, key, "missing");
	if (inet_pton(AF_INET, s, a->b) != 1)
		return earg(rq, key, "not an IPv4 address a.b.c.d");
	return 0;
}

int
arg_in4_prefix(const struct request *rq, const char *key, struct be_in4 *a, int *len)
{
	const char *s = request_get(rq, key);
	char buf[64];

	if (!s)
		return earg(rq, key, "missing");
	if (split_prefix(s, buf, sizeof(buf), 32, len) < 0 ||
	    inet_pton(AF_INET, buf, a->b) != 1)
		return earg(rq, key, "not an IPv4 prefix a.b.c.d/len");
	return 0;
}

int
arg_in6(const struct request *rq, const char *key, struct be_in6 *a)
{
	const char *s = request_get(rq, key);

	if (!s)
		return earg(rq, key, "missing");
	if (inet_pton(AF_INET6, s, a->b) != 1)
		return earg(rq, key, "not an IPv6 address x::y");
	return 0;
}

int
arg_in6_prefix(const struct request *rq, const char *key, struct be_in6 *a, int *len)
{
	const char *s = request_get(rq, key);
	char buf[64];

	if (!s)
		return earg(rq, key, "missing");
	if (split_prefix(s, buf, sizeof(buf), 128, len) < 0 ||
	    inet_pton(AF_INET6, buf, a->b) != 1)
		return earg(rq, key, "not an IPv6 prefix x::y/len");
	return 0;
}

int
arg_blob(const struct request *rq, const char *key, uint8_t *buf, size_t cap, size_t *n)
{
	const char *s = request_get(rq, key);
	long r;

	if (!s)
		return earg(rq, key, "missing");
	r = hex_decode(s, buf, cap);
	if (r < 0)
		return earg(rq, key, "not a hex blob (or too long)");
	*n = (size_t)r;
	return 0;
}

int
arg_handle(const struct request *rq, struct handle **h)
{
	long long id;

	if (arg_int(rq, "h", LLONG_MIN, LLONG_MAX, &id) < 0)
		return -1;
	*h = id > 0 && id <= MAX_ID ? handle_find((long)id) : NULL;
	if (!*h)
		return reply_err(rq->id, "ENOHANDLE", 0, "h=%lld: no open device", id);
	return 0;
}
