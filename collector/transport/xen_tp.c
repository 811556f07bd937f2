/*
 * The Xen transport behind transport.h: domains found in xenstore, their
 * areas mapped from grants (xen.h; xen.c, or xen_stub.c where the Xen
 * libraries are absent, and then ut_tp_xen_new fails with its message).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "transport.h"
#include "xen.h"

#define MAX_DOMS 512

struct xen_tp {
	ut_transport_t ops; /* first: the engine's handle */
	ut_xen_t *x;
	uint32_t doms[MAX_DOMS]; /* the last successful scan */
	int ndoms;
};

static int xtp_start(ut_transport_t *t, char *err, size_t errlen)
{
	(void)t, (void)err, (void)errlen; /* ut_xen_open set the watches */
	return 0;
}

static const char *xtp_watching(ut_transport_t *t)
{
	(void)t;
	return "xenstore for Xen guests";
}

/* Domains that publish a ready area.  A crashed domain that is kept still
 * publishes: the engine does not attach it again. */
static int xtp_scan(ut_transport_t *t, ut_tp_found_fn found, void *ctx)
{
	struct xen_tp *xt = (struct xen_tp *)t;
	char entry[16], label[32], path[64];
	int n = ut_xen_scan(xt->x, xt->doms, MAX_DOMS);

	if (n < 0)
		return -1;
	xt->ndoms = n;
	for (int i = 0; i < n; i++) {
		snprintf(entry, sizeof(entry), "dom%u", xt->doms[i]);
		snprintf(label, sizeof(label), "domain %u", xt->doms[i]);
		snprintf(path, sizeof(path), UT_XEN_BASE, xt->doms[i]);
		if (found(ctx, entry, label, path, xt->doms[i]))
			break;
	}
	return 0;
}

static bool xtp_listed(ut_transport_t *t, const ut_tp_guest_t *g)
{
	struct xen_tp *xt = (struct xen_tp *)t;

	for (int i = 0; i < xt->ndoms; i++)
		if (xt->doms[i] == g->id)
			return true;
	return false;
}

static bool xtp_wait(ut_transport_t *t, int ms)
{
	/* xenstore watches, event channels */
	return ut_xen_wait(((struct xen_tp *)t)->x, ms);
}

static int xtp_open(ut_transport_t *t, ut_tp_guest_t *g, char *err,
		    size_t errlen)
{
	struct xen_tp *xt = (struct xen_tp *)t;
	ut_xen_dom_t *xd = NULL;
	int rc = ut_xen_dom_open(xt->x, g->id, &xd, g->label,
				 sizeof(g->label), err, errlen);

	if (rc == -2) {
		/* Not (yet) publishing or going away: the engine tries again,
		 * and says so if it lasts. */
		if (!err[0])
			snprintf(err, errlen, "domain is gone, dying or no "
				 "longer publishing");
		return UT_TP_RETRY;
	}
	if (rc)
		return UT_TP_REJECT;
	g->priv = xd;
	g->map = ut_xen_dom_area(xd, &g->size);
	return UT_TP_OK;
}

static void xtp_guest_info(ut_transport_t *t, const ut_tp_guest_t *g,
			   ut_guest_info_t *gi, bool rejected)
{
	(void)t;
	gi->pid = g->id; /* ours, not the guest's word */
	if (rejected)
		snprintf(gi->platform, sizeof(gi->platform), "xen");
}

static bool xtp_alive(ut_transport_t *t, ut_tp_guest_t *g)
{
	if (!g->gone) /* once gone, the first verdict stays */
		g->gone = !ut_xen_dom_alive(((struct xen_tp *)t)->x, g->priv,
					    &g->crashed, g->gone_why,
					    sizeof(g->gone_why));
	return !g->gone;
}

static int xtp_crash(ut_transport_t *t, ut_tp_guest_t *g, ut_store_t *st,
		     int64_t guest_id, ut_reader_t *rd,
		     const struct ut_crash_opts *co, struct ut_crash_job **job)
{
	return ut_crash_begin_xen(st, guest_id, rd, ((struct xen_tp *)t)->x,
				  g->priv, co, job);
}

static void xtp_done(ut_transport_t *t, ut_tp_guest_t *g, bool crashed)
{
	ut_xen_dom_done(((struct xen_tp *)t)->x, g->priv, crashed);
}

static void xtp_close(ut_transport_t *t, ut_tp_guest_t *g)
{
	if (g->priv)
		ut_xen_dom_close(((struct xen_tp *)t)->x, g->priv);
	g->priv = NULL;
	g->map = NULL;
}

static void xtp_destroy(ut_transport_t *t)
{
	struct xen_tp *xt = (struct xen_tp *)t;

	if (!xt)
		return;
	ut_xen_close(xt->x);
	free(xt);
}

ut_transport_t *ut_tp_xen_new(const ut_xen_opts_t *o, char *err,
			      size_t errlen)
{
	struct xen_tp *xt = calloc(1, sizeof(*xt));

	if (!xt) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!(xt->x = ut_xen_open(o, err, errlen))) {
		free(xt);
		return NULL;
	}
	xt->ops = (ut_transport_t){
		.name = "xen",
		.start = xtp_start,
		.watching = xtp_watching,
		.scan = xtp_scan,
		.listed = xtp_listed,
		.wait = xtp_wait,
		.open = xtp_open,
		.guest_info = xtp_guest_info,
		.alive = xtp_alive,
		.crash = xtp_crash,
		.done = xtp_done,
		.close = xtp_close,
		.destroy = xtp_destroy,
	};
	return &xt->ops;
}
