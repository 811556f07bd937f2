/*
 * The Xen rig's ctl sequence on the host, through the Xen port itself
 * (tracer-guest/port_xen.c over mock xg_* hooks): the unikernel's 1 MiB
 * ring, the demo workload (examples/common/workload.c: the same events and
 * sizes), ut_ctl_poll() in the main loop serving a libxenvchan client that
 * this test plays in the port's granted page (requests written into the
 * left ring, answers read from the right one, cli_live cleared when it
 * goes), and the collector's reader on the area the port published,
 * slower than the guest so the ring runs full.  One client per request, as
 * `unitrace ctl --xen` does: disable cache_miss, show, enable cache_miss,
 * mode overwrite, show (and back to discard for the next round).  First
 * with the collector between requests (a seeded, repeatable interleaving),
 * then on its own thread.  The reader must never find the ring corrupt and
 * must account for every event.  Nothing depends on timing: the
 * collector's pace only changes how much is lost.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "tap.h"
#include "trace.h"
#include "ut_ctl.h"

#include "../../tracer-guest/port_xen.c"

/* The workload's "error" event would be ut_error, a collector function. */
#define ut_error ut_wl_error
#include "../../examples/common/workload.c"
#undef ut_error

/* ---- the mock unikernel -------------------------------------------------- */

static void *allocs[8]; /* freed at the end: the port never frees */
static int nallocs;

void *xg_alloc_pages(size_t n)
{
	void *p = nallocs < 8 ? aligned_alloc(XG_PAGE_SIZE, n * XG_PAGE_SIZE)
			      : NULL;

	if (p) {
		memset(p, 0, n * XG_PAGE_SIZE);
		allocs[nallocs++] = p;
	}
	return p;
}

uint64_t xg_virt_to_frame(const void *va)
{
	return (uint64_t)(uintptr_t)va >> XG_PAGE_SHIFT;
}

static int next_ref = 8;

int xg_grant_access(uint16_t domid, uint64_t frame, int readonly)
{
	(void)domid, (void)frame, (void)readonly;
	return next_ref++;
}

int xg_evtchn_alloc_unbound(uint16_t remote_domid, uint32_t *port)
{
	static uint32_t next = 10;

	(void)remote_domid;
	*port = next++;
	return 0;
}

void xg_evtchn_notify(uint32_t port)
{
	(void)port;
}

void xg_sched_yield(void)
{
	sched_yield();
}

void xg_sched_shutdown(unsigned reason)
{
	(void)reason;
}

int xg_xs_read(const char *path, char *buf, size_t cap)
{
	(void)path, (void)buf, (void)cap;
	return -1; /* no domid, no name: the port's defaults */
}

int xg_xs_write(const char *path, const char *value)
{
	(void)path, (void)value;
	return 0;
}

int xg_xs_set_perm(const char *path, uint16_t domid)
{
	(void)path, (void)domid;
	return 0;
}

volatile struct xg_shared_info *xg_shared_info(void)
{
	return NULL;
}

unsigned xg_vcpu_id(void)
{
	return 0;
}

/* ---- the ctl client: libxenvchan's side of the page ------------------------ */

static uint32_t cli_seq;

/* Connect, send one request, take its answer if it has come: the guest
 * serves the channel only from its main loop, so the answer is collected
 * by cli_poll() between requests.  Returns 0 when the request is sent. */
static int cli_send(uint16_t op, uint32_t arg, const void *p, uint32_t len)
{
	volatile struct xg_vchan_iface *v = ut_vc;
	volatile uint8_t *l = (volatile uint8_t *)v + XG_VCHAN_SMALL_OFF;
	uint8_t m[UT_CTL_HDR_SIZE + UT_CTL_MAX_REQ];
	struct ut_ctl_msg q = {.magic = UT_CTL_MAGIC, .op = op, .seq = ++cli_seq,
			       .arg = arg, .len = len};
	uint32_t n = UT_CTL_HDR_SIZE + len, prod;

	if (!v)
		return -1;
	prod = v->left.prod;
	memcpy(m, &q, sizeof(q));
	if (len)
		memcpy(m + sizeof(q), p, len);
	v->cli_live = 1;
	for (uint32_t i = 0; i < n; i++)
		l[(prod + i) & ((1u << XG_VCHAN_SMALL_ORDER) - 1)] = m[i];
	__atomic_thread_fence(__ATOMIC_RELEASE);
	v->left.prod = prod + n;
	return 0;
}

/* The answer to the last request, if there; then the client goes (gntdev's
 * unmap notification clears cli_live).  1: answered with status 0. */
static int cli_poll(void)
{
	volatile struct xg_vchan_iface *v = ut_vc;
	volatile uint8_t *rb = (volatile uint8_t *)v + XG_VCHAN_LARGE_OFF;
	const uint32_t rmask = (1u << XG_VCHAN_LARGE_ORDER) - 1;
	struct ut_ctl_msg h;
	uint8_t *hp = (uint8_t *)&h;
	int ok_ = 0;

	while (v->right.prod - v->right.cons >= UT_CTL_HDR_SIZE) {
		uint32_t c = v->right.cons;
		for (uint32_t i = 0; i < UT_CTL_HDR_SIZE; i++)
			hp[i] = rb[(c + i) & rmask];
		v->right.cons = c + UT_CTL_HDR_SIZE + h.len;
		if (h.seq == cli_seq)
			ok_ = h.status == 0 ? 1 : -1;
	}
	if (ok_)
		v->cli_live = 0;
	return ok_;
}

/* ---- the collector ------------------------------------------------------------ */

static uint64_t stored, lost, lost_guest, lost_over;
static volatile int stop;
static ut_reader_t rd;
static char why[320];

static int on_event(void *ctx, uint32_t ring, const ut_event_t *ev)
{
	(void)ctx, (void)ring, (void)ev;
	stored++;
	return 0;
}

static int on_lost(void *ctx, uint32_t ring, uint64_t first, uint64_t count,
		   int64_t before, int64_t after, int reason)
{
	(void)ctx, (void)ring, (void)first, (void)before, (void)after;
	lost += count;
	if (reason == UT_LOST_GUEST)
		lost_guest += count;
	else
		lost_over += count;
	return 0;
}

static const ut_sink_t sink = {NULL, on_event, on_lost};

/* One collector cycle: (budget) bytes, 'tail' released when (release). */
static int collect(uint64_t budget, bool release)
{
	ut_rd_ring_t *rr = &rd.rings[0];
	uint64_t before = rr->cursor;
	long n = 0;

	if (ut_reader_schema(&rd))
		return -1;
	while (budget > rr->cursor - before &&
	       (n = ut_reader_drain(&rd, 0, &sink,
				    budget - (rr->cursor - before))) > 0)
		;
	if (n < 0)
		return -1;
	if (release)
		ut_reader_release(&rd);
	return 0;
}

static void *collector_thread(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ull, cycles = 0;

	(void)arg;
	while (!stop) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		if (collect(256 + s % 8192, ++cycles % 4 == 0)) {
			snprintf(why, sizeof(why), "%.280s", rd.err);
			return (void *)1;
		}
		sched_yield();
	}
	return NULL;
}

/* What `unitrace ctl --xen` sent in the rig, in order, one client each
 * (plus a switch back to discard, so each round switches to overwrite
 * with a full ring). */
static const struct {
	uint16_t op;
	uint32_t arg;
	const char *name; /* ENABLE's payload */
} seqn[] = {
	{UT_CTL_SET_MODE, UT_MODE_DISCARD, NULL},
	{UT_CTL_ENABLE, 0, "cache_miss"},
	{UT_CTL_HELLO, 0, NULL},
	{UT_CTL_RINGS, 0, NULL},
	{UT_CTL_EVENTS, 0, NULL},
	{UT_CTL_ENABLE, 1, "cache_miss"},
	{UT_CTL_SET_MODE, UT_MODE_OVERWRITE, NULL},
	{UT_CTL_RINGS, 0, NULL},
	{UT_CTL_EVENTS, 0, NULL},
};
#define NSEQ (sizeof(seqn) / sizeof(seqn[0]))

static struct wl_vcpu v;
static size_t next_req_k;
static int answered, refused, pending;

/* The unikernel's main loop for (nreq) requests: a request, then
 * ut_ctl_poll(); a ctl client every (every) requests, the sequence run
 * (rounds) times.  With (inline_collector), the collector runs between
 * requests (seeded pace); 0, or -1 when it found the ring corrupt. */
static int guest_run(uint64_t nreq, uint64_t every, size_t rounds,
		     bool inline_collector)
{
	uint64_t s = 88172645463325252ull;
	size_t end = next_req_k + rounds * NSEQ;

	for (uint64_t req = 0; req < nreq; req++) {
		wl_serve_one(&v);
		ut_ctl_poll();
		if (pending) {
			int a = cli_poll();
			if (a) {
				pending = 0;
				answered += a > 0;
				refused += a < 0;
			}
		}
		if (!pending && req % every == every - 1 && next_req_k < end) {
			size_t k = next_req_k++ % NSEQ;
			uint32_t mode = seqn[k].arg;
			if (seqn[k].op == UT_CTL_SET_MODE)
				cli_send(seqn[k].op, 0, &mode, sizeof(mode));
			else if (seqn[k].name)
				cli_send(seqn[k].op, seqn[k].arg, seqn[k].name,
					 (uint32_t)strlen(seqn[k].name));
			else
				cli_send(seqn[k].op, seqn[k].arg, NULL, 0);
			pending = 1;
		}
		if (!inline_collector)
			continue;
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		if (s % 8 == 0 && collect(256 + (s >> 8) % 4096, (s >> 20) % 4 == 0)) {
			snprintf(why, sizeof(why), "request %llu: %.280s",
				 (unsigned long long)req, rd.err);
			return -1;
		}
	}
	return 0;
}

int main(void)
{
	ut_config_t cfg = {.name = "ukapp1", .nr_rings = 1,
			   .ring_size = 1u << 20, .mode = UT_CFG_MODE_DISCARD};
	pthread_t ct;
	void *cres;
	ut_stats_t st;
	int bad;

	is_int(ut_init(&cfg), 0, "ut_init through the Xen port: one 1 MiB ring");
	ut_set_vcpu(0);
	ok(ut_vc != NULL, "the port set up its control vchan page");
	is_int(ut_reader_attach(&rd, ut_xen_area, ut_xen_area_pages * XG_PAGE_SIZE),
	       0, "reader attached to the published area: %s", rd.err);
	ut_reader_announce(&rd, 1);
	wl_setup(&(struct wl_platform){"x", NULL});
	wl_vcpu_init(&v, 0, 1);

	/* First with the collector between requests (one thread, the same
	 * interleaving every run), then on its own thread as in dom0. */
	bad = guest_run(400000, 10000, 3, true);
	if (bad)
		printf("# %s\n", why);
	ok(!bad, "collector between requests: the ring is never corrupt");
	ok(lost_guest > 0 && lost_over > 0, "...while the guest dropped (%llu) "
	   "and overwrote (%llu) events: the ring ran full in both modes",
	   (unsigned long long)lost_guest, (unsigned long long)lost_over);
	pthread_create(&ct, NULL, collector_thread, NULL);
	guest_run(600000, 20000, 3, false);
	stop = 1;
	pthread_join(ct, &cres);
	if (cres)
		printf("# collector: %s\n", why);
	ok(cres == NULL, "collector on its own thread: the ring is never corrupt");
	is_int(answered, (int)(6 * NSEQ), "every ctl request answered (%d refused)",
	       refused);
	ok(rd.rings[0].rh->mode == UT_MODE_OVERWRITE, "ring 0 ends in overwrite mode");

	bad = 0;
	for (int i = 0; i < 100000 && !bad && !ut_reader_caught_up(&rd, 0); i++)
		bad = collect(UINT64_MAX, true);
	ut_reader_set_collector(&rd, UT_COLL_DONE);
	ut_shutdown();
	if (!bad)
		bad = collect(UINT64_MAX, true);
	ok(!bad, "final drain clean: %s", bad ? rd.err : "");
	ut_reader_finish(&rd, 0, &sink);
	ut_get_stats(&st);
	is_int(stored + lost, st.emitted, "stored %llu + lost %llu == emitted",
	       (unsigned long long)stored, (unsigned long long)lost);
	ut_reader_free(&rd);
	while (nallocs)
		free(allocs[--nallocs]);
	return tap_done();
}
