/*
 * protocol.c - frames of the tunlab control protocol v1: reading bounded lines, splitting
 * requests, value encodings, building and sending replies and log frames.
 */
#include "protocol.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* ---- reading lines ---- */

static char inbuf[4096];		/* bytes read but not yet consumed */
static size_t inpos, inend;
static char linebuf[MAX_FRAME];		/* the line being assembled, NUL-terminated */
static size_t linelen;
static int discarding;			/* the current line is over-long */
static size_t ack_every;		/* --ack: an ACK byte per this many bytes read */
static size_t ack_count;		/* bytes read since the last ACK */
static int outfd = 1;

static int write_all(const char *p, size_t n);

void
proto_set_ack(size_t every)
{
	ack_every = every;
	ack_count = 0;
}

size_t
proto_ack_every(void)
{
	return ack_every;
}

/*
 * Credit for the host (--ack): QEMU's record mode queues serial input and hands it to
 * the UART in one burst when the vCPU next runs, so more than the 16550's 16-byte FIFO
 * at once overruns it and bytes are lost.  The host keeps at most ack_every bytes
 * unacknowledged; each ACK says that many more have left the UART.
 */
static void
ack_read(size_t n)
{
	if (ack_every == 0)
		return;
	ack_count += n;
	while (ack_count >= ack_every) {
		ack_count -= ack_every;
		(void)write_all((const char[]){ PROTO_ACK }, 1);
	}
}

static int
starts_tl(const char *s, size_t n)
{
	return n >= 2 && s[0] == 'T' && s[1] == 'L';
}

/* The id of a line that starts "TL1 <id> ", or 0. */
static long
peek_id(const char *s, size_t n)
{
	long id = 0;
	size_t i;

	if (n < 5 || memcmp(s, "TL1 ", 4) != 0)
		return 0;
	for (i = 4; i < n && i < 15 && s[i] >= '0' && s[i] <= '9'; i++)
		id = id * 10 + (s[i] - '0');
	if (i == 4 || i >= n || s[i] != ' ' || id > MAX_ID)
		return 0;
	return id;
}

enum frame_status
frame_read(int fd, char **line, size_t *len, long *id)
{
	for (;;) {
		char *nl;
		size_t chunk;

		if (inpos == inend) {
			ssize_t r = read(fd, inbuf, sizeof(inbuf));

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return FRAME_IO_ERROR;
			if (r == 0) {
				linelen = 0;
				discarding = 0;
				return FRAME_EOF;
			}
			inpos = 0;
			inend = (size_t)r;
			ack_read((size_t)r);
		}
		nl = memchr(inbuf + inpos, '\n', inend - inpos);
		chunk = (nl ? (size_t)(nl - inbuf) : inend) - inpos;

		if (!discarding) {
			/* at most MAX_FRAME - 1 bytes before the newline */
			size_t room = MAX_FRAME - 1 - linelen;

			if (chunk > room) {
				memcpy(linebuf + linelen, inbuf + inpos, room);
				linelen += room;
				discarding = 1;
			} else {
				memcpy(linebuf + linelen, inbuf + inpos, chunk);
				linelen += chunk;
			}
		}
		inpos += chunk;
		if (!nl)
			continue;
		inpos++;	/* the newline */

		if (discarding) {
			int tl = starts_tl(linebuf, linelen);

			*id = peek_id(linebuf, linelen);
			discarding = 0;
			linelen = 0;
			if (tl)
				return FRAME_TOO_LONG;
			continue;	/* over-long noise */
		}
		if (linelen > 0 && linebuf[linelen - 1] == '\r')
			linelen--;
		linebuf[linelen] = '\0';
		if (!starts_tl(linebuf, linelen)) {
			linelen = 0;
			continue;	/* noise */
		}
		*line = linebuf;
		*len = linelen;
		linelen = 0;
		return FRAME_LINE;
	}
}

/* ---- parsing requests ---- */

static int
is_keychar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

int
request_parse(char *line, size_t len, struct request *rq, const char **why)
{
	static char whybuf[96];
	char *p, *end = line + len;
	long long id = 0;
	size_t i;

	memset(rq, 0, sizeof(*rq));
	if (len < 4 || memcmp(line, "TL1 ", 4) != 0) {
		*why = "bad magic or version (want TL1)";
		return -1;
	}
	p = line + 4;
	for (i = 0; p + i < end && p[i] >= '0' && p[i] <= '9'; i++) {
		if (i >= 10)
			break;
		id = id * 10 + (p[i] - '0');
	}
	if (i == 0 || id < 1 || id > MAX_ID || (p + i < end && p[i] != ' ')) {
		*why = "bad id (want 1..2147483647 then one space)";
		return -1;
	}
	rq->id = (long)id;
	if (p + i == end) {
		*why = "missing verb";
		return -1;
	}
	p += i + 1;

	for (char *q = p; q < end; q++) {
		if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e) {
			snprintf(whybuf, sizeof(whybuf),
			    "control or non-ASCII byte 0x%02x at offset %ld",
			    (unsigned char)*q, (long)(q - line));
			*why = whybuf;
			return -1;
		}
	}

	/* Tokens, each followed by one space or the end. */
	for (int ntok = 0; p <= end; ntok++) {
		char *sp = memchr(p, ' ', (size_t)(end - p));
		char *tokend = sp ? sp : end;
		char *eq;

		if (tokend == p) {
			*why = ntok == 0 ? "missing verb" :
			    "empty token (two spaces, or a trailing space)";
			return -1;
		}
		*tokend = '\0';
		if (ntok == 0) {
			for (char *q = p; *q; q++) {
				if (!is_keychar(*q)) {
					*why = "bad verb (want [a-z0-9_]+)";
					return -1;
				}
			}
			rq->verb = p;
		} else {
			eq = strchr(p, '=');
			if (!eq || eq == p) {
				snprintf(whybuf, sizeof(whybuf),
				    "bad token '%.40s' (want key=value)", p);
				*why = whybuf;
				return -1;
			}
			*eq = '\0';
			for (char *q = p; *q; q++) {
				if (!is_keychar(*q)) {
					snprintf(whybuf, sizeof(whybuf),
					    "bad key '%.40s' (want [a-z0-9_]+)", p);
					*why = whybuf;
					return -1;
				}
			}
			if (request_get(rq, p)) {
				snprintf(whybuf, sizeof(whybuf), "duplicate key '%.40s'",
				    p);
				*why = whybuf;
				return -1;
			}
			if (rq->nargs == MAX_ARGS) {
				*why = "too many arguments";
				return -1;
			}
			rq->args[rq->nargs].key = p;
			rq->args[rq->nargs].value = eq + 1;
			rq->nargs++;
		}
		if (!sp)
			break;
		p = sp + 1;
	}
	return 0;
}

const char *
request_get(const struct request *rq, const char *key)
{
	for (int i = 0; i < rq->nargs; i++)
		if (strcmp(rq->args[i].key, key) == 0)
			return rq->args[i].value;
	return NULL;
}

/* ---- value encodings ---- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
parse_int(const char *s, long long *v)
{
	unsigned long long acc = 0;
	int neg = 0, digits = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (s += 2; *s; s++, digits++) {
			int d = hexval(*s);

			if (d < 0 || acc > (~0ULL >> 4))
				return -1;
			acc = acc << 4 | (unsigned)d;
		}
		/* hex may name any 64-bit pattern (flags); it wraps into long long */
		if (digits == 0 || digits > 16)
			return -1;
		*v = (long long)acc;
		return 0;
	}
	if (*s == '-') {
		neg = 1;
		s++;
	}
	/* decimal must fit a long long: out of range is an error, never a wrap */
	for (; *s; s++, digits++) {
		if (*s < '0' || *s > '9' || digits >= 19)
			return -1;
		acc = acc * 10 + (unsigned)(*s - '0');
	}
	if (digits == 0 || acc > (unsigned long long)LLONG_MAX + (unsigned)neg)
		return -1;
	/* -LLONG_MIN does not exist: negate in unsigned, then convert */
	*v = neg ? (acc == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN :
	    -(long long)acc) : (long long)acc;
	return 0;
}

long
hex_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

long
pct_decode(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; *s; s++) {
		int c = (unsigned char)*s;

		if (c == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (hi < 0 || lo < 0)
				return -1;
			c = hi << 4 | lo;
			s += 2;
		} else if (c < '!' || c > '~') {
			return -1;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (long)n;
}

int
is_word(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("_./:,+-", c)))
			return 0;
	}
	return 1;
}

/* ---- output ---- */

void
proto_set_output(int fd)
{
	outfd = fd;
}

static int
write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(outfd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = outfd, .events = POLLOUT };

			(void)poll(&pfd, 1, 1000);
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A frame being built: at most cap - 1 bytes before the newline. */
struct outframe {
	char *buf;
	size_t cap;
	size_t len;
	int overflow;
};

static void
out_put(struct outframe *f, const char *s, size_t n)
{
	if (f->overflow || f->len + n > f->cap - 1) {
		f->overflow = 1;
		return;
	}
	memcpy(f->buf + f->len, s, n);
	f->len += n;
}

static void
out_printf(struct outframe *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
out_printf(struct outframe *f, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		f->overflow = 1;
	else
		out_put(f, tmp, (size_t)n);
}

static void
out_pct(struct outframe *f, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < '!' || c > '~' || c == '%') {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			out_put(f, e, 3);
		} else {
			out_put(f, (const char *)&c, 1);
		}
	}
}

static char replybuf[MAX_FRAME];
static struct outframe reply = { replybuf, sizeof(replybuf), 0, 0 };
static long reply_id;
static int reply_is_raw;

void
reply_ok(long id)
{
	reply_id = id;
	reply.len = 0;
	reply.overflow = 0;
	reply_is_raw = 0;
	out_printf(&reply, "TL1 %ld ok", id);
}

int
reply_err(long id, const char *name, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	reply_id = id;
	reply.len = 0;
	reply.overflow = 0;
	reply_is_raw = 0;
	out_printf(&reply, "TL1 %ld err %s", id, name);
	if (err)
		out_printf(&reply, " errno=%d", err);
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		if (msg[0]) {
			out_put(&reply, " msg=", 5);
			out_pct(&reply, msg);
		}
	}
	return -1;
}

static void
reply_key(const char *key)
{
	out_put(&reply, " ", 1);
	out_put(&reply, key, strlen(key));
	out_put(&reply, "=", 1);
}

void
reply_int(const char *key, long long v)
{
	reply_key(key);
	out_printf(&reply, "%lld", v);
}

void
reply_uint(const char *key, unsigned long long v)
{
	reply_key(key);
	out_printf(&reply, "%llu", v);
}

void
reply_hex(const char *key, unsigned long long v)
{
	reply_key(key);
	out_printf(&reply, "0x%llx", v);
}

void
reply_word(const char *key, const char *w)
{
	reply_key(key);
	out_put(&reply, w, strlen(w));
}

void
reply_text(const char *key, const char *s)
{
	reply_key(key);
	out_pct(&reply, s);
}

void
reply_blob(const char *key, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = p;

	reply_key(key);
	if (reply.overflow || reply.len + 2 * n > reply.cap - 1) {
		reply.overflow = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		reply.buf[reply.len++] = hex[b[i] >> 4];
		reply.buf[reply.len++] = hex[b[i] & 15];
	}
}

void
reply_fixed3(const char *key, double v)
{
	reply_key(key);
	if (!isfinite(v) || v < 0)
		v = 0;
	out_printf(&reply, "%.3f", v);
}

void
reply_raw(const char *s, size_t n)
{
	reply.len = 0;
	reply.overflow = 0;
	out_put(&reply, s, n);
	reply_is_raw = 1;
}

int
reply_send(void)
{
	if (reply.overflow && !reply_is_raw)
		reply_err(reply_id, "E2BIG", 0, "reply longer than MAX_FRAME");
	if (!reply_is_raw)
		reply.buf[reply.len++] = '\n';
	return write_all(reply.buf, reply.len);
}

void
proto_drain(void)
{
	if (isatty(outfd))
		(void)tcdrain(outfd);
}

void
proto_log(const char *text)
{
	static char logbuf[4096];
	struct outframe f = { logbuf, sizeof(logbuf), 0, 0 };
	char cut[1024];

	/* keep log lines short on a slow serial line */
	snprintf(cut, sizeof(cut), "%s", text);
	out_put(&f, "TL1 0 log msg=", 14);
	out_pct(&f, cut);
	f.buf[f.len++] = '\n';
	(void)write_all(f.buf, f.len);
}
