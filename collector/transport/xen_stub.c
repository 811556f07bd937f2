/*
 * The Xen transport where the Xen libraries are absent (STYLE.md practice
 * 8): opening it fails with a clear message, so `unitrace collect --xen`
 * exits at once and everything else builds and runs.  Nothing but
 * ut_xen_open can be reached without a handle; the rest abort.
 */
#ifndef UT_HAVE_XEN

#include <stdio.h>
#include <stdlib.h>

#include "crash.h"
#include "ctl_chan.h"
#include "xen.h"

/* Why the build left the backend out: the Makefile's Xen probe says (a
 * library missing, or a Xen whose API does not fit: docs/xen.md). */
#ifndef UT_XEN_OFF_REASON
#define UT_XEN_OFF_REASON "the Xen libraries were not found"
#endif

ut_xen_t *ut_xen_open(const ut_xen_opts_t *o, char *err, size_t errlen)
{
	(void)o;
	snprintf(err, errlen, "no Xen here: this unitrace was built without "
		 "its Xen backend (%s); --xen needs a build with it (Debian: "
		 "libxen-dev, see docs/xen.md) running in dom0",
		 UT_XEN_OFF_REASON);
	return NULL;
}

ut_ctl_chan_t *ut_xen_ctl_open(const char *want, char *err, size_t errlen)
{
	(void)want;
	ut_xen_open(NULL, err, errlen);
	return NULL;
}

int ut_xen_ctl_list(char *err, size_t errlen)
{
	ut_xen_open(NULL, err, errlen);
	return -1;
}

void ut_xen_close(ut_xen_t *x)
{
	(void)x;
}

/* Unreachable without a handle from ut_xen_open. */
#define UNREACHABLE() abort()

int ut_xen_scan(ut_xen_t *x, uint32_t *domids, int cap)
{
	(void)x, (void)domids, (void)cap;
	UNREACHABLE();
}

bool ut_xen_dom_exists(ut_xen_t *x, uint32_t domid)
{
	(void)x, (void)domid;
	UNREACHABLE();
}

bool ut_xen_wait(ut_xen_t *x, int ms)
{
	(void)x, (void)ms;
	UNREACHABLE();
}

int ut_xen_dom_open(ut_xen_t *x, uint32_t domid, ut_xen_dom_t **out,
		    char *label, size_t labellen, char *err, size_t errlen)
{
	(void)x, (void)domid, (void)out, (void)label, (void)labellen,
		(void)err, (void)errlen;
	UNREACHABLE();
}

void *ut_xen_dom_area(const ut_xen_dom_t *d, uint64_t *size)
{
	(void)d, (void)size;
	UNREACHABLE();
}

uint32_t ut_xen_dom_id(const ut_xen_dom_t *d)
{
	(void)d;
	UNREACHABLE();
}

bool ut_xen_dom_alive(ut_xen_t *x, ut_xen_dom_t *d, bool *crashed, char *why,
		      size_t whylen)
{
	(void)x, (void)d, (void)crashed, (void)why, (void)whylen;
	UNREACHABLE();
}

void ut_xen_dom_done(ut_xen_t *x, ut_xen_dom_t *d, bool crashed)
{
	(void)x, (void)d, (void)crashed;
	UNREACHABLE();
}

void ut_xen_dom_close(ut_xen_t *x, ut_xen_dom_t *d)
{
	(void)x;
	if (d)
		UNREACHABLE();
}

int ut_crash_begin_xen(ut_store_t *st, int64_t guest_id, ut_reader_t *rd,
		       ut_xen_t *x, ut_xen_dom_t *d,
		       const struct ut_crash_opts *o, struct ut_crash_job **job)
{
	(void)st, (void)guest_id, (void)rd, (void)x, (void)d, (void)o;
	*job = NULL;
	UNREACHABLE();
}

#endif /* !UT_HAVE_XEN */
