/*
 * The Xen port (tracer-guest/port_xen.c) on the host, over mock xg_* hooks:
 * what ut_init asks of the unikernel and what it does when a hook says no.
 *
 *  - a grant call that has no free reference (-1 at once, as xen_guest.h
 *    requires) makes ut_init fail with UT_EPORT, cleanly: no "state" key,
 *    no wait, no crash, whether it fails at the first page or midway;
 *  - every grant goes to the backend, read-write, with the frame
 *    xg_virt_to_frame gave;
 *  - every key written is shared with the backend (XS_SET_PERMS); a
 *    refused set_perm is ignored for dom0 and fails ut_init otherwise.
 *
 * Each case runs ut_init in a child process (ut_init is once per process)
 * that reports through a pipe.  The real thing runs in the Xen rig.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace.h"
#include "tap.h"

#include "../../tracer-guest/port_xen.c"

/* ---- the mock unikernel -------------------------------------------------- */

#define MAX_YIELDS 100000 /* a port that yields this often without any
			   * collector is waiting for something: a hang */

struct report {
	int rc;
	int grant_calls, grants;
	int grant_bad;      /* wrong domid, frame or read-only */
	int writes, perms;  /* xg_xs_write / xg_xs_set_perm calls */
	int perm_bad;       /* set_perm for a key not written, or wrong domid */
	int ready;          /* "state" = "ready" written */
	int yields, shutdowns;
};

static struct report rep;
static int grant_budget;   /* grants that succeed, then -1; < 0: all */
static int set_perm_rc;    /* what xg_xs_set_perm returns */
static uint16_t backend;
static char written[64][96];
static struct {
	uintptr_t lo, hi;
} allocs[32];
static int nallocs;

void *xg_alloc_pages(size_t n)
{
	void *p = aligned_alloc(XG_PAGE_SIZE, n * XG_PAGE_SIZE);

	if (p) {
		memset(p, 0, n * XG_PAGE_SIZE);
		if (nallocs < 32) {
			allocs[nallocs].lo = (uintptr_t)p;
			allocs[nallocs++].hi = (uintptr_t)p + n * XG_PAGE_SIZE;
		}
	}
	return p;
}

static uint64_t unframe(uint64_t frame);

/* Is (frame) that of a page the port got from xg_alloc_pages? */
static int frame_allocated(uint64_t frame)
{
	uintptr_t va = (uintptr_t)unframe(frame);

	for (int i = 0; i < nallocs; i++)
		if (va >= allocs[i].lo && va < allocs[i].hi)
			return 1;
	return 0;
}

/* A made-up frame that the grant call can check it was given. */
uint64_t xg_virt_to_frame(const void *va)
{
	return ((uint64_t)(uintptr_t)va >> XG_PAGE_SHIFT) ^ 0x5a5a;
}

int xg_grant_access(uint16_t domid, uint64_t frame, int readonly)
{
	rep.grant_calls++;
	if (domid != backend || readonly ||
	    !frame_allocated(frame))
		rep.grant_bad++;
	if (grant_budget >= 0 && rep.grants >= grant_budget)
		return -1;
	return 8 + rep.grants++;
}

int xg_evtchn_alloc_unbound(uint16_t remote_domid, uint32_t *port)
{
	static uint32_t next = 10;

	if (remote_domid != backend)
		return -1;
	*port = next++;
	return 0;
}

void xg_evtchn_notify(uint32_t port)
{
	(void)port;
}

void xg_sched_yield(void)
{
	if (++rep.yields > MAX_YIELDS)
		abort();
}

void xg_sched_shutdown(unsigned reason)
{
	(void)reason;
	rep.shutdowns++;
}

int xg_xs_read(const char *path, char *buf, size_t cap)
{
	if (!strcmp(path, "domid") && cap > 2) {
		strcpy(buf, "7");
		return 1;
	}
	return -1;
}

int xg_xs_write(const char *path, const char *value)
{
	if (rep.writes < 64)
		snprintf(written[rep.writes], sizeof(written[0]), "%s", path);
	rep.writes++;
	if (!strcmp(path, "data/unitrace/state") && !strcmp(value, "ready"))
		rep.ready = 1;
	return 0;
}

int xg_xs_set_perm(const char *path, uint16_t domid)
{
	int found = 0;

	rep.perms++;
	for (int i = 0; i < rep.writes && i < 64; i++)
		found |= !strcmp(written[i], path);
	if (!found || domid != backend)
		rep.perm_bad++;
	return set_perm_rc;
}

volatile struct xg_shared_info *xg_shared_info(void)
{
	return NULL; /* the clock falls back to CPUID */
}

unsigned xg_vcpu_id(void)
{
	return 0;
}

/* The page behind a frame of the mock's xg_virt_to_frame. */
static uint64_t unframe(uint64_t frame)
{
	return (frame ^ 0x5a5a) << XG_PAGE_SHIFT;
}

/* ---- running one case ------------------------------------------------------ */

static struct report run(int budget, int perm_rc, uint16_t be)
{
	struct report r;
	int fd[2];
	pid_t pid;
	int st;

	memset(&r, 0, sizeof(r));
	r.rc = 12345;
	if (pipe(fd) != 0)
		return r;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fd[0]);
		grant_budget = budget;
		set_perm_rc = perm_rc;
		backend = be;
		ut_xen_set_backend(be);
		rep.rc = ut_init(NULL);
		if (write(fd[1], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
			_exit(2);
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], &r, sizeof(r)) != (ssize_t)sizeof(r))
		r.rc = 12346; /* the child died (crash, abort on a yield loop) */
	close(fd[0]);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		r.rc = 12347;
	return r;
}

int main(void)
{
	struct report r;

	is_int(unframe(xg_virt_to_frame((void *)0x123000)), 0x123000,
	       "mock: frames map back to their pages");

	r = run(-1, 0, 0);
	is_int(r.rc, 0, "ut_init succeeds when every hook does");
	is_int(r.grant_bad, 0, "... every grant to dom0, read-write, a frame of a page it allocated");
	ok(r.ready, "... and writes state=ready");
	ok(r.grants > 256, "... granting the area, its directory and the ctl page (%d grants)",
	   r.grants);
	is_int(r.perms, r.writes, "... and shares every key it writes with the backend");
	is_int(r.perm_bad, 0, "... each right after writing it, for the backend's domid");
	is_int(r.shutdowns, 0, "... and never shuts the domain down");

	r = run(0, 0, 0);
	is_int(r.rc, -UT_EPORT, "no free grant reference at all: ut_init fails with UT_EPORT");
	is_int(r.grant_calls, 1, "... at the first area page, without retrying it");
	ok(!r.ready, "... without announcing the area (no state=ready)");
	is_int(r.yields, 0, "... and without waiting for a reference");

	r = run(100, 0, 0);
	is_int(r.rc, -UT_EPORT, "grant references running out midway: ut_init fails with UT_EPORT");
	is_int(r.grants, 100, "... having stopped at the first refusal");
	is_int(r.grant_calls, 101, "... without retrying it");
	ok(!r.ready, "... and without announcing the area");
	is_int(r.yields, 0, "... and without waiting");

	r = run(-1, -1, 0);
	is_int(r.rc, 0, "set_perm refused, backend dom0: ut_init still succeeds (dom0 reads all)");
	ok(r.ready, "... and the area is announced");

	r = run(-1, -1, 5);
	is_int(r.rc, -UT_EPORT, "set_perm refused, backend domain 5: ut_init fails");
	ok(!r.ready, "... without announcing an area the backend could not read");

	r = run(-1, 0, 5);
	is_int(r.rc, 0, "backend domain 5: ut_init succeeds");
	is_int(r.grant_bad, 0, "... every grant to domain 5, read-write");
	is_int(r.perm_bad, 0, "... every key readable by domain 5");
	ok(r.ready && r.perms == r.writes, "... all %d keys shared", r.writes);
	return tap_done();
}
