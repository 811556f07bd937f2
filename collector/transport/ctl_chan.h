/*
 * The byte stream `unitrace ctl` talks to a guest over (the messages are
 * formats/ut_ctl.h): a Unix socket to a hosted guest (ctl_hosted.c), a
 * libxenvchan channel to a Xen domain (xen_ctl.c).
 */
#ifndef UT_CTL_CHAN_H
#define UT_CTL_CHAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct ut_ctl_chan ut_ctl_chan_t;

struct ut_ctl_chan {
	/* Move exactly (n) bytes before (deadline), CLOCK_MONOTONIC ms.
	 * 0, or -1 with the reason in err. */
	int (*send)(ut_ctl_chan_t *c, const void *buf, size_t n, int64_t deadline);
	int (*recv)(ut_ctl_chan_t *c, void *buf, size_t n, int64_t deadline);
	void (*close)(ut_ctl_chan_t *c);
	char label[128]; /* how the guest is named in messages */
	char err[256];
};

/* Deadlines are ut_now_ms() values (cli.h). */

/* Open the control socket of the hosted guest named (want) in rendezvous
 * directory (dir): its entry NAME.PID.ut, NAME.PID, NAME or PID, if that
 * names exactly one.  NULL with a message in err. */
ut_ctl_chan_t *ut_hosted_ctl_open(const char *dir, const char *want,
				  char *err, size_t errlen);

/* Print the guests of rendezvous directory (dir), one per line
 * ("NAME.PID").  How many, or -1 with a message in err. */
int ut_hosted_ctl_list(const char *dir, char *err, size_t errlen);

/* Open the control vchan of the Xen domain named or numbered (want), as a
 * client from this (dom0) domain.  NULL with a message in err. */
ut_ctl_chan_t *ut_xen_ctl_open(const char *want, char *err, size_t errlen);

/* Print the domains that offer a unitrace control vchan, one per line
 * ("DOMID NAME").  How many, or -1 with a message in err. */
int ut_xen_ctl_list(char *err, size_t errlen);

/* cmd_ctl.c: run one `unitrace ctl` (action) ("show", "mode", "enable" or
 * "disable") with its operands (args, nargs: the mode, or the event type
 * names; checked by the caller) and (ring) (-1: every ring) over the open
 * channel (chan) until (deadline).  Everything the guest answers is
 * checked; the exit status, messages printed.  Does not close (chan).
 * Apart from `unitrace ctl`, the control fuzzer calls it. */
int ut_ctl_act(ut_ctl_chan_t *chan, int64_t deadline, const char *action,
	       char **args, int nargs, long ring);

#endif
