/*
 * protocol.h - tunlab control protocol v1 (docs/protocol.md): reading frames from a byte
 * stream, splitting a request into id, verb and key=value arguments, value encodings,
 * and building and sending replies.
 */
#ifndef TUNLAB_PROTOCOL_H
#define TUNLAB_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define MAX_FRAME	163840	/* bytes in a frame, newline included */
#define MAX_ARGS	32	/* key=value arguments in one request */
#define MAX_ID		2147483647L

/* ---- reading lines ---- */

enum frame_status {
	FRAME_LINE,		/* a complete line that starts with "TL" */
	FRAME_TOO_LONG,		/* a "TL" line longer than MAX_FRAME was discarded */
	FRAME_EOF,		/* the input ended */
	FRAME_IO_ERROR		/* read(2) failed; errno is set */
};

/* Reads the next frame from fd, skipping noise lines (not starting with "TL"). On
 * FRAME_LINE, *line is the NUL-terminated line without its newline (and without a '\r'
 * before it), valid until the next call. On FRAME_TOO_LONG, *id is the request's id if the
 * line's start showed one, else 0. */
enum frame_status frame_read(int fd, char **line, size_t *len, long *id);

/* --ack N: after every N bytes read, frame_read writes one PROTO_ACK byte (never inside
 * a frame); 0 (the default) writes none.  docs/protocol.md, "Acknowledged input". */
#define PROTO_ACK	'\006'
void proto_set_ack(size_t every);
size_t proto_ack_every(void);

/* ---- parsing requests ---- */

struct kv {
	const char *key;
	const char *value;
};

struct request {
	long id;		/* 0 when it could not be read */
	const char *verb;
	int nargs;
	struct kv args[MAX_ARGS];
};

/* Splits a line (modified in place) into a request. Returns 0, or -1 with *why set to a
 * static description of what is malformed (rq->id is kept if it was read). */
int request_parse(char *line, size_t len, struct request *rq, const char **why);

/* The value of key, or NULL if absent. */
const char *request_get(const struct request *rq, const char *key);

/* ---- value encodings ---- */

/* Integer value: decimal, optionally negative, or 0x hexadecimal. Returns 0, or -1 for
 * anything else, a decimal outside long long's range included (never a wrap). */
int parse_int(const char *s, long long *v);

/* Decodes a hex blob into out (capacity cap). Returns the byte count or -1. */
long hex_decode(const char *s, uint8_t *out, size_t cap);

/* Decodes percent-encoded text into out (NUL-terminated). Returns its length or -1. */
long pct_decode(const char *s, char *out, size_t cap);

/* True when s is a non-empty word: [A-Za-z0-9_./:,+-]+ */
int is_word(const char *s);

/* ---- replies ---- */

/* Output channel for every frame the agent sends (set once at start-up). */
void proto_set_output(int fd);

/* Starts "TL1 <id> ok" in the reply buffer. */
void reply_ok(long id);
/* Replaces the reply with "TL1 <id> err <name> [errno=<err>] [msg=<text>]"; err 0 omits
 * errno=. Returns -1, so handlers can `return reply_err(...)`. */
int reply_err(long id, const char *name, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void reply_int(const char *key, long long v);
void reply_uint(const char *key, unsigned long long v);
void reply_hex(const char *key, unsigned long long v);		/* 0x<hex> */
void reply_word(const char *key, const char *w);
void reply_text(const char *key, const char *s);		/* percent-encoded */
void reply_blob(const char *key, const void *p, size_t n);	/* hex */
void reply_fixed3(const char *key, double v);			/* decimal, 3 digits */
/* Replaces the reply with raw bytes, sent as they are (debug op=garble). */
void reply_raw(const char *s, size_t n);
/* Sends the reply built so far. Returns 0, or -1 if the output failed. */
int reply_send(void);

/* Waits until everything sent has left a serial line (before power-off or panic). */
void proto_drain(void);

/* Sends "TL1 0 log msg=<text>". */
void proto_log(const char *text);

#endif /* TUNLAB_PROTOCOL_H */
