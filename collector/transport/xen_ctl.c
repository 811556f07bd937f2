/*
 * `unitrace ctl --xen`: the client end of a guest's control vchan.
 *
 * The guest (tracer-guest/port_xen.c) is the libxenvchan server: it grants
 * one page holding both rings and publishes it at
 * /local/domain/<guest>/data/vchan/<our domid>/unitrace-ctl.  We connect
 * with libxenvchan_client_init, in non-blocking mode, and wait on the
 * channel's event fd with a deadline.  The guest takes no interrupts and
 * serves the channel when its main loop calls ut_ctl_poll(), so every wait
 * is also bounded by a short poll period.
 */
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxenvchan.h>
#include <xenstore.h>

#include "cli.h" /* ut_now_ms */
#include "ctl_chan.h"
#include "ut_ctl.h"

typedef struct {
	ut_ctl_chan_t c; /* first: the channel is the container */
	struct libxenvchan *v;
} xen_chan_t;

#define XEN_CTL_POLL_MS 20

/* Wait for the channel to move, at most until (deadline). */
static int chan_wait(xen_chan_t *x, int64_t deadline)
{
	int64_t left = deadline - ut_now_ms();
	struct pollfd p = {.fd = libxenvchan_fd_for_select(x->v), .events = POLLIN};

	if (left <= 0) {
		snprintf(x->c.err, sizeof(x->c.err), "%s did not answer in time "
			 "(does its main loop call ut_ctl_poll()?)", x->c.label);
		return -1;
	}
	if (poll(&p, 1, left < XEN_CTL_POLL_MS ? (int)left : XEN_CTL_POLL_MS) > 0)
		libxenvchan_wait(x->v);
	return 0;
}

static int closed(xen_chan_t *x)
{
	snprintf(x->c.err, sizeof(x->c.err), "%s closed its control channel",
		 x->c.label);
	return -1;
}

/* Move exactly (n) bytes out (send) or in, waiting on the channel. */
static int xen_io(ut_ctl_chan_t *c, void *buf, size_t n, int64_t deadline,
		  bool out)
{
	xen_chan_t *x = (xen_chan_t *)c;
	size_t off = 0;

	while (off < n) {
		if (out && !libxenvchan_is_open(x->v))
			return closed(x);
		int r = out ? libxenvchan_write(x->v, (char *)buf + off, n - off)
			    : libxenvchan_read(x->v, (char *)buf + off, n - off);
		if (r < 0)
			return closed(x);
		off += (size_t)r;
		if (off < n && chan_wait(x, deadline))
			return -1;
	}
	return 0;
}

static int xen_send(ut_ctl_chan_t *c, const void *buf, size_t n, int64_t deadline)
{
	return xen_io(c, (void *)buf, n, deadline, true);
}

static int xen_recv(ut_ctl_chan_t *c, void *buf, size_t n, int64_t deadline)
{
	return xen_io(c, buf, n, deadline, false);
}

static void xen_close(ut_ctl_chan_t *c)
{
	xen_chan_t *x = (xen_chan_t *)c;

	libxenvchan_close(x->v);
	free(x);
}

/* Our own domain id (0 in dom0). */
static unsigned self_domid(struct xs_handle *xs)
{
	char *s = xs_read(xs, XBT_NULL, "domid", NULL);
	unsigned d = s ? (unsigned)strtoul(s, NULL, 10) : 0;

	free(s);
	return d;
}

/* The xenstore node of (domid)'s control vchan, if it offers one. */
static bool ctl_path(struct xs_handle *xs, unsigned domid, unsigned self,
		     char *path, size_t cap)
{
	char key[PATH_MAX + 16];
	char *s;

	snprintf(path, cap, "/local/domain/%u/data/vchan/%u/" UT_CTL_VCHAN_PORT,
		 domid, self);
	snprintf(key, sizeof(key), "%s/ring-ref", path);
	s = xs_read(xs, XBT_NULL, key, NULL);
	free(s);
	return s != NULL;
}

/* (domid)'s name in xenstore into (buf), "" if none. */
static void dom_name(struct xs_handle *xs, unsigned domid, char *buf, size_t cap)
{
	char key[64];
	char *s;

	snprintf(key, sizeof(key), "/local/domain/%u/name", domid);
	s = xs_read(xs, XBT_NULL, key, NULL);
	snprintf(buf, cap, "%s", s ? s : "");
	free(s);
}

static struct xs_handle *xs_or_err(char *err, size_t errlen)
{
	/* No XS_OPEN_READONLY: libxenstore ignores it and calls it
	 * deprecated (4.17 and later); we only read and watch anyway. */
	struct xs_handle *xs = xs_open(0);

	if (!xs)
		snprintf(err, errlen, "cannot reach xenstore (%s): --xen runs in "
			 "dom0 on a Xen host, as root", strerror(errno));
	return xs;
}

int ut_xen_ctl_list(char *err, size_t errlen)
{
	struct xs_handle *xs = xs_or_err(err, errlen);
	unsigned n = 0, self;
	int found = 0;
	char **doms, path[PATH_MAX], name[128];

	if (!xs)
		return -1;
	self = self_domid(xs);
	doms = xs_directory(xs, XBT_NULL, "/local/domain", &n);
	for (unsigned i = 0; doms && i < n; i++) {
		char *end;
		unsigned long d = strtoul(doms[i], &end, 10);
		if (*end || d > 0x7fef || !ctl_path(xs, (unsigned)d, self, path,
						    sizeof(path)))
			continue;
		dom_name(xs, (unsigned)d, name, sizeof(name));
		printf("%lu %s\n", d, name);
		found++;
	}
	free(doms);
	xs_close(xs);
	return found;
}

ut_ctl_chan_t *ut_xen_ctl_open(const char *want, char *err, size_t errlen)
{
	struct xs_handle *xs = xs_or_err(err, errlen);
	char path[PATH_MAX], name[128], seen[256] = "", **doms = NULL;
	unsigned n = 0, self, domid = 0;
	size_t sl = 0;
	bool found = false;
	xen_chan_t *x = NULL;
	char *end;

	if (!xs)
		return NULL;
	self = self_domid(xs);
	unsigned long d = strtoul(want, &end, 10);
	if (*want && !*end && d <= 0x7fef) {
		domid = (unsigned)d;
		found = true;
	} else {
		doms = xs_directory(xs, XBT_NULL, "/local/domain", &n);
		for (unsigned i = 0; doms && i < n && !found; i++) {
			d = strtoul(doms[i], &end, 10);
			if (*end)
				continue;
			dom_name(xs, (unsigned)d, name, sizeof(name));
			if (!strcmp(name, want)) {
				domid = (unsigned)d;
				found = true;
			} else if (sl < sizeof(seen)) {
				int w = snprintf(seen + sl, sizeof(seen) - sl, "%s%lu %s",
						 sl ? ", " : "", d, name);
				sl += w > 0 ? (size_t)w : 0;
			}
		}
		free(doms);
	}
	if (!found) {
		snprintf(err, errlen, "no Xen domain named '%s' (there are: %s)",
			 want, sl ? seen : "none");
		goto out;
	}
	if (!ctl_path(xs, domid, self, path, sizeof(path))) {
		snprintf(err, errlen, "domain %u offers no unitrace control channel "
			 "(%s/ring-ref is missing: not a unitrace guest, or its "
			 "tracer is not running)", domid, path);
		goto out;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	x->v = libxenvchan_client_init(NULL, (int)domid, path);
	if (!x->v) {
		snprintf(err, errlen, "cannot connect to the control vchan of "
			 "domain %u at %s: %s", domid, path, strerror(errno));
		free(x);
		x = NULL;
		goto out;
	}
	x->v->blocking = 0;
	x->c.send = xen_send;
	x->c.recv = xen_recv;
	x->c.close = xen_close;
	dom_name(xs, domid, name, sizeof(name));
	snprintf(x->c.label, sizeof(x->c.label), "%.96s (domain %u)",
		 *name ? name : "?", domid);
out:
	xs_close(xs);
	return x ? &x->c : NULL;
}
