/*
 * pvh-demo: a PVH unikernel that behaves like a small network service,
 * traced with unitrace over the Xen transport.  The workload is the hosted
 * demo's (examples/demo-guest/demo.c), on one vCPU: a packet arrives
 * (net_rx), the request is queued (queue_depth), then served as nested
 * spans request > parse > handle > respond, with cache misses, bytes_sent
 * counters, log messages, slow requests and occasional errors.
 *
 * Command line (xl cmdline=), space-separated:
 *   duration=SECONDS  how long to serve (default 2)
 *   rate=N            requests per second (default 1000; 0: flat out)
 *   crash=KIND        null | ud | div | panic | stack: crash a few calls deep
 *                     (handle_login > lookup_session > parse_cookie)
 *   after=SECONDS     when to crash (default 0.3)
 *   seed=N            pseudo-random seed (default 1)
 *   backend=DOMID     the collector's domain (default 0)
 *   mode=overwrite    flight-recorder rings (default discard)
 * It serves until the duration has passed or `xl shutdown` asks it to stop
 * (control/shutdown in its xenstore directory, polled every 50 ms), then
 * prints "pvh-demo: emitted N dropped M" on the console and powers off; a
 * crash ends in SHUTDOWN_crash.
 */
#include "pvh.h"
#include "trace.h"
#include "xen_guest.h"

/* ---- the events this service emits (same as demo-guest) --------------- */

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

/* ---- options ------------------------------------------------------------ */

#define NS 1000000000ull
#define SHUTDOWN_POLL_NS (NS / 20)

static struct {
	uint64_t duration_ns;
	uint64_t rate;
	const char *crash;
	uint64_t after_ns;
	uint64_t seed;
	uint16_t backend;
	bool overwrite;
} opt = {2 * NS, 1000, NULL, 300000000ull, 1, 0, false};

static char crash_kind[16];

static void say(const char *a, const char *b)
{
	console_puts(a);
	console_puts(b);
	console_puts("\n");
}

static bool parse_u64(const char *s, uint64_t *out)
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

/* "2", "0.3", "1.25" seconds -> ns. */
static bool parse_seconds(const char *s, uint64_t *ns)
{
	uint64_t whole = 0, frac = 0, scale = NS;
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
	*ns = whole * NS + frac;
	return true;
}

/* Split the command line in place and apply each key=value. */
static void parse_cmdline(char *c)
{
	while (*c) {
		char *tok, *val = NULL;
		uint64_t v;

		while (*c == ' ')
			c++;
		if (!*c)
			break;
		tok = c;
		while (*c && *c != ' ') {
			if (*c == '=' && !val) {
				*c = 0;
				val = c + 1;
			}
			c++;
		}
		if (*c)
			*c++ = 0;
		if (!val) {
			say("pvh-demo: ignoring ", tok);
		} else if (!strcmp(tok, "duration")) {
			if (!parse_seconds(val, &opt.duration_ns))
				say("pvh-demo: bad duration=", val);
		} else if (!strcmp(tok, "after")) {
			if (!parse_seconds(val, &opt.after_ns))
				say("pvh-demo: bad after=", val);
		} else if (!strcmp(tok, "rate")) {
			if (!parse_u64(val, &opt.rate))
				say("pvh-demo: bad rate=", val);
		} else if (!strcmp(tok, "seed")) {
			if (!parse_u64(val, &opt.seed))
				say("pvh-demo: bad seed=", val);
		} else if (!strcmp(tok, "backend")) {
			if (parse_u64(val, &v) && v < 0x7ff0)
				opt.backend = (uint16_t)v;
			else
				say("pvh-demo: bad backend=", val);
		} else if (!strcmp(tok, "mode")) {
			opt.overwrite = !strcmp(val, "overwrite");
		} else if (!strcmp(tok, "crash")) {
			if (!strcmp(val, "null") || !strcmp(val, "ud") ||
			    !strcmp(val, "div") || !strcmp(val, "panic") ||
			    !strcmp(val, "stack")) {
				size_t n = strlen(val);
				memcpy(crash_kind, val, n + 1);
				opt.crash = crash_kind;
			} else {
				say("pvh-demo: crash= expects null, ud, div, panic or stack, not ", val);
			}
		} else {
			say("pvh-demo: unknown option ", tok);
		}
	}
}

/* ---- deterministic pseudo-random numbers (xorshift64*) ------------------ */

static uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint32_t rnd_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((rnd_next(s) >> 32) * (uint64_t)n) >> 32);
}

/* ---- the synthetic service ---------------------------------------------- */

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
#define REQ_SEQ_MASK ((uint64_t)0x00ffffffffffffffull)

struct vcpu {
	unsigned id;
	uint64_t rng;
	uint64_t next_req;
	uint32_t queue;
	uint64_t bytes_sent;
	uint64_t requests;
	uint64_t events;
	uint64_t errors, warnings;
	volatile uint64_t sink;
};

static void work(struct vcpu *v, unsigned rounds)
{
	uint64_t h = v->sink;

	for (unsigned i = 0; i < rounds; i++)
		h = (h ^ i) * 0x100000001b3ull;
	v->sink = h;
}

static void log_msg(struct vcpu *v, uint32_t level, const char *msg)
{
	ut_log(level, msg);
	v->events++;
}

static void serve_one(struct vcpu *v)
{
	uint64_t *r = &v->rng;
	uint64_t id = ((uint64_t)v->id << 56) | v->next_req++;
	unsigned p = rnd_below(r, NPATHS);
	const char *method = methods[rnd_below(r, 6)];
	uint32_t len = 64 + rnd_below(r, 1437);
	uint32_t roll = rnd_below(r, 1000);
	uint16_t status = 200;
	uint32_t bytes;
	char msg[UT_LOG_MSG_MAX];
	struct sbuf b;

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
		status = 500;
		ut_error(id, -110, "backend timeout");
		sb_init(&b, msg, sizeof(msg));
		sb_str(&b, "vcpu");
		sb_u64(&b, v->id);
		sb_str(&b, " req ");
		sb_u64(&b, id & REQ_SEQ_MASK);
		sb_str(&b, ": ");
		sb_str(&b, method);
		sb_str(&b, " ");
		sb_str(&b, paths[p]);
		sb_str(&b, ": backend timeout");
		log_msg(v, UT_LOG_ERROR, msg);
		v->events++;
		v->errors++;
	} else if (roll < 35) {
		status = 404;
	} else if (roll < 45) {
		work(v, 2000);
		sb_init(&b, msg, sizeof(msg));
		sb_str(&b, "vcpu");
		sb_u64(&b, v->id);
		sb_str(&b, " req ");
		sb_u64(&b, id & REQ_SEQ_MASK);
		sb_str(&b, ": slow handler '");
		sb_str(&b, handlers[p]);
		sb_str(&b, "'");
		log_msg(v, UT_LOG_WARN, msg);
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
		sb_init(&b, msg, sizeof(msg));
		sb_str(&b, "vcpu");
		sb_u64(&b, v->id);
		sb_str(&b, ": ");
		sb_u64(&b, v->requests);
		sb_str(&b, " requests served, ");
		sb_u64(&b, v->bytes_sent);
		sb_str(&b, " bytes sent");
		log_msg(v, UT_LOG_INFO, msg);
	}
}

/* ---- crash injection: a few calls deep, like a real bug ----------------- */

static volatile int *volatile bad_ptr; /* NULL */
static volatile int divisor;           /* 0 */
static volatile int dividend = 100;
static volatile int crash_sink;

/* Unbounded in practice: the boot stack (64 KiB) ends long before. */
__attribute__((noinline)) static int decode_nested(const char *p, uint32_t depth)
{
	volatile char frame[256];

	frame[0] = p[0];
	if (depth > 0x7fffffff)
		return frame[0];
	return decode_nested(p, depth + 1) + frame[depth & 255];
}

__attribute__((noinline)) static int parse_cookie(const char *kind)
{
	if (!strcmp(kind, "stack"))
		return decode_nested(kind, 0);
	if (!strcmp(kind, "null"))
		return *bad_ptr = 42;
	if (!strcmp(kind, "ud"))
		__builtin_trap();
	if (!strcmp(kind, "div"))
		return crash_sink = dividend / divisor;
	if (!strcmp(kind, "panic"))
		ut_panic("pvh-demo: session table corrupted");
	return 0;
}

__attribute__((noinline)) static int lookup_session(const char *kind)
{
	crash_sink = parse_cookie(kind) + 1;
	return crash_sink;
}

__attribute__((noinline)) static int handle_login(struct vcpu *v)
{
	ut_crash_imminent(opt.crash, v->id);
	v->events++;
	crash_sink = lookup_session(opt.crash) + 1;
	return crash_sink;
}

/* ---- main ---------------------------------------------------------------- */

/* The GNU build id of this image (the linker's note), for ut_init. */
extern const uint8_t __build_id_note_start[], __build_id_note_end[];

static const uint8_t *build_id(uint32_t *len)
{
	const uint8_t *n = __build_id_note_start;
	uint32_t namesz, descsz, type;

	*len = 0;
	if (__build_id_note_end - n < 16)
		return NULL;
	memcpy(&namesz, n, 4);
	memcpy(&descsz, n + 4, 4);
	memcpy(&type, n + 8, 4);
	if (type != 3 || namesz != 4 || memcmp(n + 12, "GNU", 4) ||
	    descsz > UT_BUILD_ID_MAX || 16 + descsz >
	    (uint32_t)(__build_id_note_end - n))
		return NULL;
	*len = descsz;
	return n + 16;
}

static void print_u64_line(const char *a, uint64_t x, const char *b,
			   uint64_t y)
{
	char line[128];
	struct sbuf s;

	sb_init(&s, line, sizeof(line));
	sb_str(&s, a);
	sb_u64(&s, x);
	sb_str(&s, b);
	sb_u64(&s, y);
	sb_str(&s, "\n");
	console_puts(line);
}

/* The PV shutdown protocol: the toolstack (xl shutdown) writes
 * "poweroff", "reboot" or "halt" to control/shutdown; the guest answers by
 * clearing the key and shutting down.  This demo powers off for all three. */
static bool shutdown_requested(void)
{
	char req[16];

	int n = xg_xs_read("control/shutdown", req, sizeof(req));
	if (n <= 0)
		return false;
	xg_xs_write("control/shutdown", "");
	say("pvh-demo: shutdown requested: ", req);
	return true;
}

static void serve(struct vcpu *v)
{
	uint64_t start = now_ns(), end = start + opt.duration_ns, t;
	uint64_t next_check = start + SHUTDOWN_POLL_NS;
	uint64_t batch = opt.rate >= 1000 ? opt.rate / 1000 : 1;

	/* Without a clock, serve what the duration would have held. */
	uint64_t max_reqs = (opt.rate ? opt.rate : 100000) *
			    (opt.duration_ns / 1000000) / 1000;

	if (!start)
		console_puts("pvh-demo: no clock (shared_info not mapped): "
			     "counting requests instead\n");
	log_msg(v, UT_LOG_INFO, "vcpu0 up");
	for (;;) {
		for (uint64_t i = 0; i < batch; i++)
			serve_one(v);
		ut_ctl_poll(); /* apply `unitrace ctl` requests */
		t = now_ns();
		if (!start) {
			if (opt.crash && v->requests >= max_reqs / 2)
				handle_login(v);
			if (v->requests >= max_reqs)
				break;
			continue;
		}
		if (opt.crash && t >= start + opt.after_ns)
			handle_login(v);
		if (t >= end)
			break;
		if (t >= next_check) {
			if (shutdown_requested())
				break;
			next_check = t + SHUTDOWN_POLL_NS;
		}
		if (opt.rate) {
			uint64_t due = start + v->requests * NS / opt.rate;
			if (due > end)
				due = end;
			while ((t = now_ns()) < due)
				ut_xen_yield();
		}
	}
	print_u64_line("pvh-demo: served ", v->requests, " requests, errors ",
		       v->errors);
}

void pvh_main(const struct hvm_start_info *si);

void pvh_main(const struct hvm_start_info *si)
{
	static char cmd[1024];
	struct vcpu v;
	ut_config_t cfg;
	ut_stats_t st;
	int rc;

	if (platform_init(si) != 0)
		platform_crash();
	console_puts("pvh-demo: booting\n");
	memcpy(cmd, platform_cmdline(), sizeof(cmd));
	cmd[sizeof(cmd) - 1] = 0;
	parse_cmdline(cmd);

	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_rings = 1;
	cfg.mode = opt.overwrite ? UT_CFG_MODE_OVERWRITE : UT_CFG_MODE_DISCARD;
	cfg.build_id = build_id(&cfg.build_id_len);
	ut_xen_set_backend(opt.backend);
	rc = ut_init(&cfg);
	if (rc) {
		print_u64_line("pvh-demo: ut_init failed (-", (uint64_t)-rc,
			       "); running untraced, ", 0);
	} else {
		ut_set_vcpu(0);
		console_puts("pvh-demo: tracing, published under data/unitrace\n");
	}

	memset(&v, 0, sizeof(v));
	v.rng = (opt.seed + 1) * 0x9e3779b97f4a7c15ull ^ (1ull << 32);
	if (!v.rng)
		v.rng = 1;
	v.next_req = 1;
	log_msg(&v, UT_LOG_INFO, "pvh-demo booting: 1 vCPU");
	serve(&v);
	log_msg(&v, UT_LOG_INFO, "pvh-demo halting");

	ut_shutdown();
	ut_get_stats(&st);
	print_u64_line("pvh-demo: emitted ", st.emitted, " dropped ", st.dropped);
	platform_poweroff();
}
