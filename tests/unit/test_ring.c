/*
 * The guest core (unmodified, on the test port) against the collector's
 * reader, in one process: layout, schema round trip, wrap, full rings,
 * overwrite, exact loss accounting, several vCPUs producing concurrently.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "port_test.h"
#include "tap.h"
#include "trace.h"

UT_INSTANT(net_rx, UT_U32(len), UT_U16(port), UT_STR(ifname, 16))
UT_COUNTER(depth, UT_S64(d))
UT_SPAN(req, UT_U64(id))
UT_INSTANT0(tick)
UT_INSTANT(blob, UT_BYTES(data, 300), UT_F64(x), UT_X64(addr))
UT_INSTANT(big, UT_STR(s, 2000), UT_STR(t, 2000))

#define MAXEV 200000

struct got {
	uint32_t ring;
	uint64_t seq;
	int64_t ts, dur;
	char name[48];
	uint64_t v0;
	char str[64];
};

static struct got *got;
static size_t ngot;
static uint64_t lost_total[UT_MAX_RINGS], lost_guest, lost_over;
static pthread_mutex_t sink_mu = PTHREAD_MUTEX_INITIALIZER;

static int on_event(void *ctx, uint32_t ring, const ut_event_t *ev)
{
	(void)ctx;
	if (ngot >= MAXEV)
		return 0;
	struct got *g = &got[ngot++];
	memset(g, 0, sizeof(*g));
	g->ring = ring;
	g->seq = ev->seq;
	g->ts = ev->ts;
	g->dur = ev->dur;
	snprintf(g->name, sizeof(g->name), "%s", ev->type->name);
	if (ev->nvals) {
		const ut_value_t *v = &ev->vals[0];
		if (v->type == UT_T_STR || v->type == UT_T_BYTES)
			snprintf(g->str, sizeof(g->str), "%.*s", v->len, v->v.p);
		else
			g->v0 = v->v.u;
		if (ev->nvals > 2 && ev->vals[2].type == UT_T_STR)
			snprintf(g->str, sizeof(g->str), "%.*s", ev->vals[2].len,
				 ev->vals[2].v.p);
	}
	return 0;
}

static int on_lost(void *ctx, uint32_t ring, uint64_t first, uint64_t count,
		   int64_t before, int64_t after, int reason)
{
	(void)ctx, (void)first, (void)before, (void)after;
	lost_total[ring] += count;
	if (reason == UT_LOST_GUEST)
		lost_guest += count;
	else
		lost_over += count;
	return 0;
}

static const ut_sink_t sink = {NULL, on_event, on_lost};

static long drain_all(ut_reader_t *r)
{
	long total = 0, n, err = 0;
	pthread_mutex_lock(&sink_mu);
	for (uint32_t i = 0; i < r->nr_rings; i++) {
		while ((n = ut_reader_drain(r, i, &sink, UINT64_MAX)) > 0)
			total += n;
		if (n < 0) {
			printf("# drain ring %u: %s\n", i, r->err);
			err = n;
		}
	}
	ut_reader_release(r);
	pthread_mutex_unlock(&sink_mu);
	return err ? err : total;
}

static void reset_got(void)
{
	ngot = 0;
	memset(lost_total, 0, sizeof(lost_total));
	lost_guest = lost_over = 0;
}

/* ---- concurrent producers ---------------------------------------------- */

struct prod {
	int vcpu;
	uint64_t n;
};

static void *producer(void *arg)
{
	struct prod *p = arg;
	ut_set_vcpu((uint32_t)p->vcpu);
	for (uint64_t i = 0; i < p->n; i++)
		ut_net_rx((uint32_t)i, (uint16_t)p->vcpu, "eth0");
	return NULL;
}

static volatile int consumer_stop;

static void *consumer(void *arg)
{
	ut_reader_t *r = arg;
	while (!consumer_stop)
		if (drain_all(r) < 0)
			return (void *)1;
	return NULL;
}

int main(void)
{
	ut_reader_t *r = calloc(1, sizeof(*r));
	ut_stats_t st;
	uint64_t emitted_before;

	got = calloc(MAXEV, sizeof(*got));

	/* Before ut_init, events cost nothing and go nowhere. */
	ut_tick();
	ut_config_t cfg = {.name = "ring-test", .nr_rings = 4,
			   .ring_size = UT_MIN_RING_SIZE};
	is_int(ut_init(&cfg), 0, "ut_init succeeds");
	is_int(ut_init(&cfg), -UT_EALREADY, "second ut_init refused");
	ok(ut_test_area != NULL, "area allocated");

	/* ---- layout and schema ---- */
	is_int(ut_reader_attach(r, ut_test_area, ut_test_area_bytes), 0,
	       "reader accepts the area: %s", r->err);
	is_int(r->nr_rings, 4, "4 rings");
	is_int(ut_reader_schema(r), 0, "schema parses");
	ok(r->ntypes >= 8, "schema has the declared types (%u)", r->ntypes);
	{
		const ut_evtype_t *rx = NULL;
		for (uint32_t i = 0; i < r->ntypes; i++)
			if (!strcmp(r->types[i].name, "net_rx"))
				rx = &r->types[i];
		ok(rx && rx->kind == UT_KIND_INSTANT && rx->nfields == 3,
		   "net_rx round-trips: instant, 3 fields");
		ok(rx && rx->fields[0].type == UT_T_U32 &&
		   !strcmp(rx->fields[0].name, "len") &&
		   rx->fields[2].type == UT_T_STR && rx->fields[2].max_len == 16,
		   "net_rx fields: u32 len ... str ifname[16]");
		ok(!strcmp(r->types[0].name, "log") && r->types[0].kind == UT_KIND_LOG,
		   "built-in log type is id 1");
	}

	/* ---- basic events, every field type, spans ---- */
	ut_set_vcpu(0);
	ut_net_rx(1500, 80, "eth0-with-a-very-long-name");
	ut_depth(-5);
	ut_req_begin(7);
	ut_req_begin(8);
	ut_tick();
	ut_req_end();
	ut_req_end();
	ut_blob("\x01\x02\x03", 3, 2.5, 0xdeadbeef);
	ut_log(UT_LOG_WARN, "disk slow");
	reset_got();
	is_int(drain_all(r), 9, "9 events drained");
	ok(!strcmp(got[0].name, "net_rx") && got[0].v0 == 1500 &&
	   !strcmp(got[0].str, "eth0-with-a-very"),
	   "net_rx: len 1500, ifname cut at 16 bytes ('%s')", got[0].str);
	ok(got[1].v0 == (uint64_t)-5, "counter: negative s64 intact");
	ok(got[5].dur > 0 && got[6].dur > got[5].dur,
	   "nested span ends carry durations (%lld, %lld)",
	   (long long)got[5].dur, (long long)got[6].dur);
	ok(got[2].dur == -1 && got[4].dur == -1, "non-end events have no duration");
	ok(!strcmp(got[8].name, "log") && got[8].v0 == UT_LOG_WARN,
	   "log event with level");
	{
		bool mono = true;
		for (size_t i = 1; i < ngot; i++)
			if (got[i].ts <= got[i - 1].ts || got[i].seq != got[i - 1].seq + 1)
				mono = false;
		ok(mono, "timestamps increase and seq is contiguous");
		/* test clock: 2 ticks per ns, 10 ticks per read */
		is_int(got[1].ts - got[0].ts, 5, "timestamps converted with mult/shift");
	}

	/* ---- a string cut at its maximum ends on a UTF-8 character boundary ---- */
	{
		static const struct { const char *in; uint16_t want; } cut[] = {
			{ "eth0-abcdefghij\xc3\xa9x", 15 },     /* 2-byte char at 15 */
			{ "eth0-abcdefghi\xe2\x82\xac", 14 },   /* 3-byte char at 14 */
			{ "eth0-abcdefgh\xf0\x9f\x98\x80", 13 }, /* 4-byte at 13 */
			{ "eth0-abcdefgh\xe2\x82\xacyz", 16 },  /* ends whole at 16 */
			{ "eth0-abcdefghi\xc3\xa9", 16 },        /* exactly 16 */
			{ "eth0-abcdefghijk\xc3\xa9", 16 },      /* cut before it */
			{ "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80"
			  "\x80\x80\x80\x80\x80", 16 },          /* not UTF-8: as is */
			{ "short\xc3\xa9", 7 },                   /* not cut */
		};
		int bad = 0;
		for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
			uint16_t n = ut__strnlen(cut[i].in, 16);
			if (n != cut[i].want) {
				printf("# case %zu: %u bytes, want %u\n", i, n,
				       cut[i].want);
				bad++;
			}
		}
		is_int(bad, 0, "ut__strnlen cuts at a UTF-8 character boundary");
		reset_got();
		ut_net_rx(1, 2, "eth0-abcdefghi\xe2\x82\xac");
		ut_net_rx(2, 2, "eth0-abcdefghij\xc3\xa9");
		drain_all(r);
		ok(ngot == 2 && !strcmp(got[0].str, "eth0-abcdefghi") &&
		   !strcmp(got[1].str, "eth0-abcdefghij"),
		   "a cut string field arrives without a partial character "
		   "('%s', '%s')", ngot > 0 ? got[0].str : "",
		   ngot > 1 ? got[1].str : "");
	}

	/* ---- wrap: many records through a 16 KiB ring, drained often ---- */
	reset_got();
	for (int i = 0; i < 20000; i++) {
		ut_net_rx((uint32_t)i, 1, "wrap");
		if (i % 300 == 0)
			drain_all(r);
	}
	drain_all(r);
	{
		bool okv = ngot == 20000;
		for (size_t i = 0; okv && i < ngot; i++)
			okv = got[i].v0 == i && !strcmp(got[i].str, "wrap");
		ok(okv, "20000 records across many wraps arrive intact (%zu)", ngot);
		is_int(lost_total[0], 0, "no loss when drained in time");
	}

	/* ---- discard mode, full ring: drops counted, gap == dropped ---- */
	reset_got();
	ut_get_stats(&st);
	emitted_before = st.emitted;
	uint64_t dropped_before = st.dropped;
	for (int i = 0; i < 5000; i++)
		ut_net_rx((uint32_t)i, 2, "full");
	ut_get_stats(&st);
	uint64_t dropped = st.dropped - dropped_before;
	ok(dropped > 0, "ring full: guest dropped %llu events",
	   (unsigned long long)dropped);
	drain_all(r);
	ut_net_rx(99999, 2, "after"); /* the gap shows at the next record */
	drain_all(r);
	is_int(ngot, 5001 - dropped, "stored = emitted - dropped");
	is_int(lost_guest, dropped, "lost range equals the guest's drop count");
	is_int(lost_over, 0, "no overwrite loss in discard mode");
	ok(got[ngot - 1].v0 == 99999, "writing resumes after the collector frees space");

	/* ---- a span end after lost events is not paired across the gap ---- */
	reset_got();
	ut_req_begin(1);              /* stored */
	for (int i = 0; i < 5000; i++) /* the ring fills, the rest drops */
		ut_net_rx((uint32_t)i, 2, "full");
	for (int i = 0; i < 100; i++)  /* down to the last byte */
		ut_tick();
	ut_req_end();                 /* dropped: req 1's end is lost */
	ut_req_begin(2);              /* dropped too */
	drain_all(r);
	ut_req_end();                 /* req 2's end: stored, after the gap */
	ut_req_begin(3);
	ut_req_end();
	drain_all(r);
	ok(ngot >= 4 && !strcmp(got[ngot - 3].name, "req") && got[ngot - 3].dur == -1,
	   "an end whose begin may be among the lost events gets no duration "
	   "(not req 1's begin: %lld)", ngot >= 3 ? (long long)got[ngot - 3].dur : 0);
	ok(ngot >= 2 && got[ngot - 1].dur >= 0 && got[ngot - 2].dur == -1,
	   "a span begun after the gap pairs as usual");

	/* ---- the largest record the macros allow (4052 bytes) ---- */
	{
		static char huge[2001];
		memset(huge, 'x', 2000);
		reset_got();
		ut_big(huge, huge);
		ut_big("a", "b");
		drain_all(r);
		ok(ngot == 2 && strlen(got[0].str) == 63 && lost_guest == 0,
		   "a 4056-byte record crosses the ring intact");
	}

	/* ---- overwrite mode: switch at run time, keep the newest ---- */
	ut_set_mode(-1, UT_MODE_OVERWRITE);
	reset_got();
	ut_get_stats(&st);
	emitted_before = st.emitted;
	dropped_before = st.dropped;
	for (int i = 0; i < 300; i++) /* mode applies within 256 events */
		ut_net_rx((uint32_t)i, 3, "pre");
	drain_all(r);
	reset_got();
	ut_get_stats(&st);
	emitted_before = st.emitted;
	dropped_before = st.dropped;
	for (int i = 0; i < 10000; i++)
		ut_net_rx((uint32_t)i, 3, "ow");
	ut_get_stats(&st);
	is_int(st.dropped - dropped_before, 0, "overwrite mode drops nothing in the guest");
	ok(r->rings[0].rh->mode == UT_MODE_OVERWRITE, "ring 0 reports overwrite mode");
	drain_all(r);
	ok(ngot > 0 && ngot < 10000, "flight recorder kept the newest %zu", ngot);
	ok(got[ngot - 1].v0 == 9999, "...ending with the last event");
	is_int(ngot + lost_over + lost_guest, 10000, "stored + lost == emitted");
	ok(lost_over > 0 && lost_guest == 0, "loss attributed to overwrite");
	ut_set_mode(-1, UT_MODE_DISCARD);
	for (int i = 0; i < 300; i++)
		ut_tick();
	drain_all(r);
	ok(r->rings[0].rh->mode == UT_MODE_DISCARD, "switched back to discard");
	is_int(ut_set_mode(-1, UT_MODE_OVERWRITE + 1), -UT_EINVAL,
	       "ut_set_mode refuses a value that is not a ring mode");
	is_int(ut_set_mode(0, UT_CFG_MODE_OVERWRITE + 7), -UT_EINVAL,
	       "...on one ring too");
	is_int(ut_set_mode(99, UT_MODE_OVERWRITE), -UT_ENORING,
	       "ut_set_mode on a ring that does not exist: -UT_ENORING");
	for (int i = 0; i < 300; i++)
		ut_tick();
	drain_all(r);
	ok(r->rings[0].rh->mode == UT_MODE_DISCARD,
	   "...and leaves the ring's mode alone");
	is_int(ut_set_mode(-1, UT_MODE_DISCARD), 0, "ut_set_mode returns 0 for a ring mode");

	/* ---- several vCPUs at once, with a concurrent consumer ---- */
	reset_got();
	drain_all(r);
	reset_got();
	ut_get_stats(&st);
	emitted_before = st.emitted;
	dropped_before = st.dropped;
	{
		pthread_t th[3], ct;
		struct prod p[3] = {{1, 30000}, {2, 30000}, {3, 30000}};
		consumer_stop = 0;
		pthread_create(&ct, NULL, consumer, r);
		for (int i = 0; i < 3; i++)
			pthread_create(&th[i], NULL, producer, &p[i]);
		for (int i = 0; i < 3; i++)
			pthread_join(th[i], NULL);
		consumer_stop = 1;
		void *cres;
		pthread_join(ct, &cres);
		ok(cres == NULL, "consumer saw no corruption");
		drain_all(r);
		for (uint32_t i = 1; i <= 3; i++)
			ut_reader_finish(r, i, &sink);
		ut_get_stats(&st);
		uint64_t em = st.emitted - emitted_before, dr = st.dropped - dropped_before;
		is_int(em, 90000, "90000 events attempted on 3 vCPUs");
		is_int(ngot, em - dr, "stored = emitted - dropped (%llu dropped)",
		       (unsigned long long)dr);
		is_int(lost_guest + lost_over, dr, "lost ranges sum to the drops");
		bool order = true;
		uint64_t last[4] = {0};
		bool seen[4] = {false};
		for (size_t i = 0; i < ngot; i++) {
			uint32_t ring = got[i].ring;
			if (ring < 1 || ring > 3 || got[i].v0 >= 30000 ||
			    (seen[ring] && got[i].v0 <= last[ring]))
				order = false;
			last[ring] = got[i].v0;
			seen[ring] = true;
		}
		ok(order, "each ring's events arrive in order, on the right ring");
	}

	/* ---- no ring for a context: counted as dropped ---- */
	{
		ut_get_stats(&st);
		uint64_t d0 = st.dropped;
		ut_set_vcpu(0);
		is_int(ut_set_vcpu(4), -UT_ENORING, "ut_set_vcpu beyond nr_rings refused");
		ut_get_stats(&st);
		is_int(st.dropped, d0, "refused binding changes nothing");
	}

	/* ---- enable / disable ---- */
	reset_got();
	is_int(ut_enable("net_rx", false), 1, "ut_enable finds net_rx");
	ut_net_rx(1, 1, "off");
	ut_tick();
	drain_all(r);
	is_int(ngot, 1, "disabled event emits nothing");
	ut_enable("net_rx", true);

	/* ---- shutdown ---- */
	ut_shutdown();
	is_int(ut_reader_state(r), UT_STATE_EXITED, "state EXITED after ut_shutdown");
	reset_got();
	ut_net_rx(1, 1, "late");
	drain_all(r);
	is_int(ngot, 0, "no events after shutdown");

	ut_reader_free(r);
	free(r);
	free(got);
	return tap_done();
}
