/*
 * errnames.h - errno values as the names the protocol sends (EAGAIN, ENOTTY, ...).
 */
#ifndef TUNLAB_ERRNAMES_H
#define TUNLAB_ERRNAMES_H

/* The name of errno value err in the <errno.h> the agent is built with, or "E<n>" for a
 * number the table lacks. The string is static (the "E<n>" form is overwritten by the next
 * call). */
const char *errno_name(int err);

#endif /* TUNLAB_ERRNAMES_H */
