/*
 * The collector's Xen transport: discovery through xenstore, the shared
 * area through grant mappings, notifications through an event channel,
 * liveness and crashes through libxenctrl.  Built only where the Xen
 * libraries are (HAVE_XEN in the Makefile); xen_stub.c replaces it
 * elsewhere.
 *
 * Everything a guest publishes is hostile: the keys are parsed by
 * xen_keys.c (bounded, strict decimal, page and ref limits), the directory
 * pages are copied out before they are decoded, and the area itself goes
 * through the same validating reader as a hosted guest's.
 */
#ifdef UT_HAVE_XEN

#define UT_XEN_PRIVATE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xen.h"

#if defined(__STRICT_ANSI__)
#error "the Xen tools headers need GNU C: build xen.c with -std=gnu11"
#endif

#define TOKEN "unitrace"

/* ---- a logger that keeps the last message instead of printing ---------- */

static void log_vmessage(struct xentoollog_logger *l, xentoollog_level level,
			 int errnoval, const char *context, const char *format,
			 va_list al)
{
	ut_xen_t *x = (ut_xen_t *)((char *)l - offsetof(ut_xen_t, log));
	char msg[200];

	if (level < XTL_WARN)
		return;
	vsnprintf(msg, sizeof(msg), format, al);
	if (errnoval >= 0)
		snprintf(x->lastlog, sizeof(x->lastlog), "%s%s%s: %s",
			 context ? context : "", context ? ": " : "", msg,
			 strerror(errnoval));
	else
		snprintf(x->lastlog, sizeof(x->lastlog), "%s%s%s",
			 context ? context : "", context ? ": " : "", msg);
}

static void log_progress(struct xentoollog_logger *l, const char *context,
			 const char *doing_what, int percent,
			 unsigned long done, unsigned long total)
{
	(void)l, (void)context, (void)doing_what, (void)percent, (void)done,
		(void)total;
}

static void log_destroy(struct xentoollog_logger *l)
{
	(void)l;
}

const char *ut_xen_lastlog(ut_xen_t *x)
{
	return x->lastlog;
}

/* ---- open / close ----------------------------------------------------------- */

/* A ut_xen_t with options (o), our logger and a control handle. */
static ut_xen_t *open_ctrl(const ut_xen_opts_t *o, char *err, size_t errlen)
{
	ut_xen_t *x = calloc(1, sizeof(*x));

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->o = *o;
	x->log.vmessage = log_vmessage;
	x->log.progress = log_progress;
	x->log.destroy = log_destroy;
	x->xch = xc_interface_open(&x->log, &x->log, 0);
	if (!x->xch) {
		snprintf(err, errlen, "cannot open the Xen control interface "
			 "(%s); --xen needs root in dom0",
			 x->lastlog[0] ? x->lastlog : strerror(errno));
		ut_xen_close(x);
		return NULL;
	}
	return x;
}

ut_xen_t *ut_xen_open_dump(const ut_xen_t *from, char *err, size_t errlen)
{
	ut_xen_t *x = open_ctrl(&from->o, err, errlen);

	if (x && !(x->fmem = xenforeignmemory_open(&x->log, 0))) {
		snprintf(err, errlen, "cannot open /dev/xen/privcmd for foreign "
			 "mappings: %s", strerror(errno));
		ut_xen_close(x);
		return NULL;
	}
	return x;
}

ut_xen_t *ut_xen_open(const ut_xen_opts_t *o, char *err, size_t errlen)
{
	ut_xen_t *x;

	if (access("/dev/xen/privcmd", F_OK) != 0) {
		snprintf(err, errlen, "no Xen here: /dev/xen/privcmd missing; "
			 "--xen needs to run in dom0%s",
			 access("/proc/xen", F_OK) == 0 ? " (is the xen-privcmd "
			 "module loaded?)" : "");
		return NULL;
	}
	if (!(x = open_ctrl(o, err, errlen)))
		return NULL;
	x->xs = xs_open(0);
	if (!x->xs) {
		snprintf(err, errlen, "cannot connect to xenstore (%s): is "
			 "xenstored running?", strerror(errno));
		goto fail;
	}
	x->xgt = xengnttab_open(&x->log, 0);
	if (!x->xgt) {
		snprintf(err, errlen, "cannot open /dev/xen/gntdev (%s): load the "
			 "xen-gntdev module", strerror(errno));
		goto fail;
	}
	/* Optional: without them we poll, and cannot dump memory. */
	x->xce = xenevtchn_open(&x->log, 0);
	x->fmem = xenforeignmemory_open(&x->log, 0);
	if (!x->o.quiet && !x->xce)
		fprintf(stderr, "unitrace %s: no event channels (%s): polling\n",
			x->o.cmd, strerror(errno));
	if (!xs_watch(x->xs, "@introduceDomain", TOKEN) ||
	    !xs_watch(x->xs, "@releaseDomain", TOKEN)) {
		snprintf(err, errlen, "cannot watch xenstore: %s", strerror(errno));
		goto fail;
	}
	return x;
fail:
	ut_xen_close(x);
	return NULL;
}

void ut_xen_close(ut_xen_t *x)
{
	if (!x)
		return;
	if (x->xs)
		xs_close(x->xs);
	if (x->xce)
		xenevtchn_close(x->xce);
	if (x->fmem)
		xenforeignmemory_close(x->fmem);
	if (x->xgt)
		xengnttab_close(x->xgt);
	if (x->xch)
		xc_interface_close(x->xch);
	free(x->watched);
	free(x);
}

/* ---- discovery ---------------------------------------------------------------- */

static bool watching(const ut_xen_t *x, uint32_t domid)
{
	for (size_t i = 0; i < x->nwatched; i++)
		if (x->watched[i] == domid)
			return true;
	return false;
}

static void state_path(char *buf, size_t len, uint32_t domid)
{
	snprintf(buf, len, UT_XEN_BASE "/state", domid);
}

/* Watch the state key of every domain in (present), stop watching the
 * others. */
static void update_watches(ut_xen_t *x, const uint32_t *present, size_t n)
{
	char path[96];

	for (size_t i = 0; i < x->nwatched;) {
		bool still = false;
		for (size_t j = 0; j < n && !still; j++)
			still = present[j] == x->watched[i];
		if (still) {
			i++;
			continue;
		}
		state_path(path, sizeof(path), x->watched[i]);
		xs_unwatch(x->xs, path, TOKEN);
		x->watched[i] = x->watched[--x->nwatched];
	}
	for (size_t j = 0; j < n; j++) {
		if (watching(x, present[j]))
			continue;
		if (x->nwatched == x->capwatched) {
			size_t cap = x->capwatched ? 2 * x->capwatched : 16;
			uint32_t *w = realloc(x->watched, cap * sizeof(*w));
			if (!w)
				return; /* the periodic rescan still finds it */
			x->watched = w;
			x->capwatched = cap;
		}
		state_path(path, sizeof(path), present[j]);
		if (xs_watch(x->xs, path, TOKEN))
			x->watched[x->nwatched++] = present[j];
	}
}

/* Is the guest's state key exactly "ready"? */
static bool state_ready(ut_xen_t *x, uint32_t domid)
{
	char path[96];
	unsigned int len = 0;
	char *v;
	bool ready;

	state_path(path, sizeof(path), domid);
	v = xs_read(x->xs, XBT_NULL, path, &len);
	ready = v && len == 5 && !memcmp(v, "ready", 5);
	free(v);
	return ready;
}

int ut_xen_scan(ut_xen_t *x, uint32_t *domids, int cap)
{
	unsigned int num = 0;
	char **ents = xs_directory(x->xs, XBT_NULL, "/local/domain", &num);
	uint32_t *present;
	size_t npresent = 0;
	int found = 0;

	if (!ents)
		return -1;
	present = calloc(num ? num : 1, sizeof(*present));
	for (unsigned int i = 0; i < num; i++) {
		uint32_t domid;
		if (!ut_xen_domid_parse(ents[i], &domid))
			continue;
		if (present)
			present[npresent++] = domid;
		if (found < cap && state_ready(x, domid))
			domids[found++] = domid;
	}
	free(ents);
	if (present)
		update_watches(x, present, npresent);
	free(present);
	return found;
}

/*
 * One domain's info.  xc_domain_getinfolist and xc_domaininfo_t (the
 * hypercall's own struct, XEN_DOMINF_* flags) exist from Xen 4.2 on;
 * xc_domain_getinfo and xc_dominfo_t were removed in 4.18, and
 * xc_domain_getinfo_single only appeared there: this works with both.
 * The list starts at (domid): its first entry is another domain when
 * (domid) is gone.
 */
static bool dominfo(ut_xen_t *x, uint32_t domid, xc_domaininfo_t *info)
{
	return xc_domain_getinfolist(x->xch, domid, 1, info) == 1 &&
	       info->domain == domid;
}

static unsigned int dominfo_reason(const xc_domaininfo_t *info)
{
	return (info->flags >> XEN_DOMINF_shutdownshift) &
	       XEN_DOMINF_shutdownmask;
}

bool ut_xen_dom_exists(ut_xen_t *x, uint32_t domid)
{
	xc_domaininfo_t info;
	return dominfo(x, domid, &info);
}

bool ut_xen_wait(ut_xen_t *x, int ms)
{
	struct pollfd p[2];
	int np = 0, evi = -1;
	bool changed = false;

	p[np++] = (struct pollfd){xs_fileno(x->xs), POLLIN, 0};
	if (x->xce) {
		evi = np;
		p[np++] = (struct pollfd){xenevtchn_fd(x->xce), POLLIN, 0};
	}
	if (poll(p, (nfds_t)np, ms) <= 0)
		return false;
	if (p[0].revents & POLLIN) {
		char **w;
		while ((w = xs_check_watch(x->xs))) {
			free(w);
			changed = true;
		}
	}
	if (evi >= 0 && (p[evi].revents & POLLIN)) {
		/* A guest notified us: the caller's next cycle drains.  Unmask
		 * so that the next notification wakes us again. */
		/* One read per readable poll: xenevtchn_pending() blocks when
		 * nothing is pending, which stalled the whole collector. */
		xenevtchn_port_or_error_t port = xenevtchn_pending(x->xce);
		if (port >= 0)
			xenevtchn_unmask(x->xce, (evtchn_port_t)port);
	}
	return changed;
}

/* ---- one domain ---------------------------------------------------------------- */

struct kvctx {
	ut_xen_t *x;
	uint32_t domid;
};

static void *kv_get(void *ctx, const char *key, size_t *len)
{
	struct kvctx *c = ctx;
	char path[128];
	unsigned int n = 0;
	void *v;

	snprintf(path, sizeof(path), UT_XEN_BASE "/%s", c->domid, key);
	v = xs_read(c->x->xs, XBT_NULL, path, &n);
	*len = n;
	return v;
}

static void kv_free(void *ctx, void *val)
{
	(void)ctx;
	free(val);
}

int ut_xen_dom_open(ut_xen_t *x, uint32_t domid, ut_xen_dom_t **out,
		    char *label, size_t labellen, char *err, size_t errlen)
{
	struct kvctx c = {x, domid};
	const ut_xen_kv_t kv = {&c, kv_get, kv_free};
	ut_xen_keys_t *k = calloc(1, sizeof(*k));
	ut_xen_dom_t *d = calloc(1, sizeof(*d));
	uint8_t *dir = NULL;
	uint32_t *refs = NULL;
	void *dmap = NULL;
	xc_domaininfo_t info;
	int rc = -1;

	*out = NULL;
	snprintf(label, labellen, "domain %u", domid);
	if (!k || !d) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	d->port = -1;
	d->domid = domid;
	if (!dominfo(x, domid, &info) || (info.flags & XEN_DOMINF_dying) || !state_ready(x, domid)) {
		rc = -2; /* gone, going, or no longer publishing */
		goto out;
	}
	if (ut_xen_keys_read(&kv, k, err, errlen))
		goto out;
	memcpy(d->name, k->name, sizeof(d->name));
	if (k->name[0])
		snprintf(label, labellen, "%s (domain %u)", k->name, domid);

	/* The directory: map read-only, copy out, unmap, then decode. */
	dir = malloc((size_t)k->ndir * UT_PAGE_SIZE);
	refs = malloc((size_t)k->area_pages * sizeof(*refs));
	if (!dir || !refs) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	x->lastlog[0] = 0;
	dmap = xengnttab_map_domain_grant_refs(x->xgt, k->ndir, domid,
					       k->dir_refs, PROT_READ);
	if (!dmap) {
		snprintf(err, errlen, "cannot map the %u grant directory page%s "
			 "(%s)", k->ndir, k->ndir == 1 ? "" : "s",
			 x->lastlog[0] ? x->lastlog : strerror(errno));
		goto out;
	}
	memcpy(dir, dmap, (size_t)k->ndir * UT_PAGE_SIZE);
	xengnttab_unmap(x->xgt, dmap, k->ndir);
	if (ut_xen_dir_decode(k, dir, refs, err, errlen))
		goto out;

	/* The area: one contiguous read-write mapping. */
	x->lastlog[0] = 0;
	d->area = xengnttab_map_domain_grant_refs(x->xgt, k->area_pages, domid,
						  refs, PROT_READ | PROT_WRITE);
	if (!d->area) {
		snprintf(err, errlen, "cannot map the %u-page shared area (%s)",
			 k->area_pages, x->lastlog[0] ? x->lastlog
						      : strerror(errno));
		goto out;
	}
	d->npages = k->area_pages;

	/* Notifications are a latency optimization: polling works without. */
	if (x->xce) {
		xenevtchn_port_or_error_t p = xenevtchn_bind_interdomain(
			x->xce, domid, k->evtchn);
		d->port = p < 0 ? -1 : (int)p;
		if (p < 0 && !x->o.quiet)
			ut_msg(x->o.cmd, "%s: cannot bind event channel "
				"%u (%s): polling", label, k->evtchn,
				strerror(errno));
	}
	*out = d;
	d = NULL;
	rc = 0;
out:
	if (d)
		ut_xen_dom_close(x, d);
	free(dir);
	free(refs);
	free(k);
	return rc;
}

void *ut_xen_dom_area(const ut_xen_dom_t *d, uint64_t *size)
{
	*size = (uint64_t)d->npages * UT_PAGE_SIZE;
	return d->area;
}

uint32_t ut_xen_dom_id(const ut_xen_dom_t *d)
{
	return d->domid;
}

static const char *shutdown_name(unsigned int reason)
{
	switch (reason) {
	case SHUTDOWN_poweroff: return "poweroff";
	case SHUTDOWN_reboot: return "reboot";
	case SHUTDOWN_suspend: return "suspend";
	case SHUTDOWN_crash: return "crash";
	case SHUTDOWN_watchdog: return "watchdog";
	case SHUTDOWN_soft_reset: return "soft reset";
	default: return "unknown";
	}
}

bool ut_xen_dom_alive(ut_xen_t *x, ut_xen_dom_t *d, bool *crashed, char *why,
		      size_t whylen)
{
	xc_domaininfo_t info;

	*crashed = false;
	if (!dominfo(x, d->domid, &info)) {
		if (why)
			snprintf(why, whylen, "domain %u destroyed without "
				 "ut_shutdown", d->domid);
		return false;
	}
	if (info.flags & XEN_DOMINF_shutdown) {
		unsigned int reason = dominfo_reason(&info);
		*crashed = reason == SHUTDOWN_crash;
		if (why)
			snprintf(why, whylen, "domain %u shut down (reason %s) "
				 "without ut_shutdown", d->domid,
				 shutdown_name(reason));
		return false;
	}
	if (info.flags & XEN_DOMINF_dying) {
		if (why)
			snprintf(why, whylen, "domain %u is being destroyed",
				 d->domid);
		return false;
	}
	return true;
}

void ut_xen_dom_done(ut_xen_t *x, ut_xen_dom_t *d, bool crashed)
{
	if (!d)
		return;
	if (d->port >= 0 && x->xce) /* wake a guest waiting for DONE */
		xenevtchn_notify(x->xce, (evtchn_port_t)d->port);
	if (crashed && x->o.on_crash == UT_XEN_CRASH_DESTROY) {
		if (xc_domain_destroy(x->xch, d->domid) != 0)
			fprintf(stderr, "unitrace %s: cannot destroy crashed domain "
				"%u: %s\n", x->o.cmd, d->domid, strerror(errno));
		else if (!x->o.quiet)
			fprintf(stderr, "unitrace %s: destroyed crashed domain %u "
				"(--on-crash destroy)\n", x->o.cmd, d->domid);
	}
}

void ut_xen_dom_close(ut_xen_t *x, ut_xen_dom_t *d)
{
	if (!d)
		return;
	if (d->port >= 0 && x->xce)
		xenevtchn_unbind(x->xce, (evtchn_port_t)d->port);
	if (d->area)
		xengnttab_unmap(x->xgt, d->area, d->npages);
	free(d);
}

#endif /* UT_HAVE_XEN */
