/*
 * The demo service's workload (workload.h): freestanding, shared by the
 * hosted demo and the PVH unikernel.
 */
#include <stddef.h>
#include <stdint.h>

#include "trace.h"
#include "workload.h"

/* ---- the events this service emits ------------------------------------ */

UT_SPAN(request, UT_U64(req_id), UT_STR(method, 8), UT_STR(path, 48))
UT_SPAN(parse, UT_U64(req_id), UT_U32(hdr_bytes))
UT_SPAN(handle, UT_U64(req_id), UT_STR(handler, 16))
UT_SPAN(respond, UT_U64(req_id), UT_U16(status), UT_U32(bytes))
UT_COUNTER(queue_depth, UT_U32(depth))
UT_COUNTER(bytes_sent, UT_U64(total))
UT_INSTANT(net_rx, UT_U32(len), UT_U16(port), UT_STR(ifname, 16))
UT_INSTANT(cache_miss, UT_X64(key), UT_U8(level))
UT_INSTANT(error, UT_U64(req_id), UT_S32(code), UT_STR(what, 32))
UT_INSTANT(crash_imminent, UT_STR(kind, 16), UT_U32(vcpu))

static struct wl_platform plat;

void wl_setup(const struct wl_platform *p)
{
	plat = *p;
}

/* ---- deterministic pseudo-random numbers (xorshift64*) ---------------- */

static uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n). */
static uint32_t rnd_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((rnd_next(s) >> 32) * (uint64_t)n) >> 32);
}

void wl_vcpu_init(struct wl_vcpu *v, unsigned id, uint64_t seed)
{
	*v = (struct wl_vcpu){0};
	v->id = id;
	v->rng = (seed + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)(id + 1) << 32);
	if (!v->rng)
		v->rng = 1;
	v->next_req = 1;
}

/* ---- log text without libc -------------------------------------------- */

struct msg {
	char buf[UT_LOG_MSG_MAX];
	size_t len;
};

static void m_start(struct msg *m)
{
	m->len = 0;
	m->buf[0] = 0;
}

static void m_str(struct msg *m, const char *s)
{
	while (*s && m->len + 1 < sizeof(m->buf))
		m->buf[m->len++] = *s++;
	m->buf[m->len] = 0;
}

static void m_u64(struct msg *m, uint64_t v)
{
	char tmp[21];
	int n = 20;

	tmp[n] = 0;
	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	m_str(m, tmp + n);
}

void wl_log(struct wl_vcpu *v, uint32_t level, const char *msg)
{
	ut_log(level, msg);
	v->events++;
}

/* ---- the synthetic service --------------------------------------------- */

static const char *const methods[] = {"GET", "GET", "GET", "POST", "PUT",
				      "DELETE"};
static const char *const paths[] = {
	"/", "/index.html", "/static/app.js", "/static/style.css",
	"/api/v1/users", "/api/v1/users/42", "/api/v1/orders",
	"/api/v1/orders/1337/items", "/health", "/metrics",
};
static const char *const handlers[] = {
	"static", "static", "static", "static", "users",
	"users", "orders", "orders", "health", "metrics",
};
#define NPATHS (sizeof(paths) / sizeof(paths[0]))
/* Request ids carry the vCPU in the top byte; logs show the sequence. */
#define REQ_SEQ_MASK ((uint64_t)0x00ffffffffffffffull)

/* Spin for a few hundred nanoseconds of "work" so spans have a width. */
static void work(struct wl_vcpu *v, unsigned rounds)
{
	uint64_t h = v->sink;

	for (unsigned i = 0; i < rounds; i++)
		h = (h ^ i) * 0x100000001b3ull;
	v->sink = h;
}

void wl_serve_one(struct wl_vcpu *v)
{
	uint64_t *r = &v->rng;
	uint64_t id = ((uint64_t)v->id << 56) | v->next_req++;
	unsigned p = rnd_below(r, NPATHS);
	const char *method = methods[rnd_below(r, 6)];
	uint32_t len = 64 + rnd_below(r, 1437); /* 64..1500 */
	uint32_t roll = rnd_below(r, 1000);
	uint16_t status = 200;
	uint32_t bytes;
	struct msg m; /* filled only when a message is logged */

	/* The packet arrives and the request is queued. */
	ut_net_rx(len, (uint16_t)(rnd_below(r, 8) ? 80 : 443),
		  v->id & 1 ? "eth1" : "eth0");
	if (v->queue < 3 || rnd_below(r, 2))
		v->queue++;
	else
		v->queue -= 2;
	ut_queue_depth(v->queue);
	v->events += 2;

	ut_request_begin(id, method, paths[p]);
	v->events++;

	ut_parse_begin(id, len / 4);
	work(v, 20 + (len >> 4));
	ut_parse_end();
	v->events += 2;

	ut_handle_begin(id, handlers[p]);
	v->events++;
	if (rnd_below(r, 4) == 0) {
		ut_cache_miss(rnd_next(r), (uint8_t)(1 + rnd_below(r, 3)));
		v->events++;
		work(v, 200);
	}
	work(v, 50 + rnd_below(r, 100));
	if (roll < 5) {
		/* 0.5%: the backend fails. */
		status = 500;
		ut_error(id, -110, "backend timeout");
		/* "vcpu%u req %llu: %s %s: backend timeout" */
		m_start(&m);
		m_str(&m, "vcpu");
		m_u64(&m, v->id);
		m_str(&m, " req ");
		m_u64(&m, id & REQ_SEQ_MASK);
		m_str(&m, ": ");
		m_str(&m, method);
		m_str(&m, " ");
		m_str(&m, paths[p]);
		m_str(&m, ": backend timeout");
		wl_log(v, UT_LOG_ERROR, m.buf);
		v->events++;
		v->errors++;
	} else if (roll < 35) {
		status = 404;
	} else if (roll < 45) {
		/* 1%: slow request.  "vcpu%u req %llu: slow handler '%s'" */
		work(v, 2000);
		m_start(&m);
		m_str(&m, "vcpu");
		m_u64(&m, v->id);
		m_str(&m, " req ");
		m_u64(&m, id & REQ_SEQ_MASK);
		m_str(&m, ": slow handler '");
		m_str(&m, handlers[p]);
		m_str(&m, "'");
		wl_log(v, UT_LOG_WARN, m.buf);
		v->warnings++;
	} else if (roll < 145) {
		status = 304;
	}
	ut_handle_end();
	v->events++;

	bytes = status == 200 ? 512 + rnd_below(r, 65536)
				: status == 304 ? 0 : 128 + rnd_below(r, 256);
	ut_respond_begin(id, status, bytes);
	work(v, 10 + bytes / 2048);
	ut_respond_end();
	v->bytes_sent += bytes;
	ut_bytes_sent(v->bytes_sent);
	v->events += 3;

	ut_request_end();
	v->events++;
	if (v->queue)
		v->queue--;
	v->requests++;

	if (v->requests % 2000 == 0) {
		/* "vcpu%u: %llu requests served, %llu bytes sent" */
		m_start(&m);
		m_str(&m, "vcpu");
		m_u64(&m, v->id);
		m_str(&m, ": ");
		m_u64(&m, v->requests);
		m_str(&m, " requests served, ");
		m_u64(&m, v->bytes_sent);
		m_str(&m, " bytes sent");
		wl_log(v, UT_LOG_INFO, m.buf);
	}
}

/* ---- crash injection: a few calls deep, like a real bug --------------- */

static volatile int *volatile bad_ptr;  /* NULL */
static volatile int divisor;            /* 0 */
static volatile int dividend = 100;
static volatile int crash_sink;         /* results kept: no tail calls */

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* The crashes below are deliberate: keep sanitizers (make check-asan) from
 * turning them into their own reports, so the fault itself happens. */
#define DELIBERATE_UB __attribute__((noinline, no_sanitize("address", "undefined")))

DELIBERATE_UB static int parse_cookie(const char *kind)
{
	int r;

	if (streq(kind, "null"))
		return *bad_ptr = 42;
	if (streq(kind, "ill") || streq(kind, "ud"))
		__builtin_trap();
	if (streq(kind, "fpe") || streq(kind, "div"))
		return crash_sink = dividend / divisor;
	if (streq(kind, "panic"))
		ut_panic(plat.panic_reason ? plat.panic_reason
					   : "demo: session table corrupted");
	r = plat.crash_other ? plat.crash_other(kind) : 0;
	crash_sink = r; /* after the call: parse_cookie stays on the stack */
	return r;
}

__attribute__((noinline)) static int lookup_session(const char *kind)
{
	crash_sink = parse_cookie(kind) + 1;
	return crash_sink;
}

__attribute__((noinline)) int handle_login(struct wl_vcpu *v, const char *kind)
{
	ut_crash_imminent(kind, v->id);
	v->events++;
	crash_sink = lookup_session(kind) + 1;
	return crash_sink;
}

bool wl_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (~0ull - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

bool wl_parse_seconds(const char *s, uint64_t *ns)
{
	const uint64_t sec = 1000000000ull;
	uint64_t whole = 0, frac = 0, scale = sec;
	bool digits = false;

	for (; *s >= '0' && *s <= '9'; s++, digits = true)
		if ((whole = whole * 10 + (uint64_t)(*s - '0')) > 1000000000ull)
			return false;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits = true)
			if (scale >= 10) {
				scale /= 10;
				frac += (uint64_t)(*s - '0') * scale;
			}
	if (*s || !digits)
		return false;
	*ns = whole * sec + frac;
	return true;
}
