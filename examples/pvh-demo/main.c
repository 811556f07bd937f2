/*
 * pvh-demo: a PVH unikernel that behaves like a small network service,
 * traced with unitrace over the Xen transport.  The workload is the hosted
 * demo's (examples/common/workload.c, shared), on one vCPU: a packet arrives
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
 * (control/shutdown in its xenstore directory, watched), then
 * prints "pvh-demo: emitted N dropped M" on the console and powers off; a
 * crash ends in SHUTDOWN_crash.
 */
#include "../common/workload.h"
#include "pvh.h"
#include "trace.h"
#include "xen_guest.h"

/* ---- options ------------------------------------------------------------ */

#define NS 1000000000ull

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
			if (!wl_parse_seconds(val, &opt.duration_ns))
				say("pvh-demo: bad duration=", val);
		} else if (!strcmp(tok, "after")) {
			if (!wl_parse_seconds(val, &opt.after_ns))
				say("pvh-demo: bad after=", val);
		} else if (!strcmp(tok, "rate")) {
			if (!wl_parse_u64(val, &opt.rate))
				say("pvh-demo: bad rate=", val);
		} else if (!strcmp(tok, "seed")) {
			if (!wl_parse_u64(val, &opt.seed))
				say("pvh-demo: bad seed=", val);
		} else if (!strcmp(tok, "backend")) {
			if (wl_parse_u64(val, &v) && v < 0x7ff0)
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

/* ---- the service: examples/common/workload.c ---------------------------- */

/* The crash kind the workload does not do itself. */

/* Unbounded in practice: the boot stack (64 KiB) ends long before. */
__attribute__((noinline)) static int decode_nested(const char *p, uint32_t depth)
{
	volatile char frame[256];

	frame[0] = p[0];
	if (depth > 0x7fffffff)
		return frame[0];
	return decode_nested(p, depth + 1) + frame[depth & 255];
}

__attribute__((noinline)) static int crash_pvh(const char *kind)
{
	if (!strcmp(kind, "stack"))
		return decode_nested(kind, 0);
	return 0;
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
 * clearing the key and shutting down.  This demo powers off for all three.
 * It watches the key (platform_xs_watch at start), so while it serves it
 * asks xenstored nothing: the key is read only when the watch fires. */
static bool shutdown_requested(void)
{
	if (!platform_xs_watch_fired())
		return false;

	char req[16];

	int n = xg_xs_read("control/shutdown", req, sizeof(req));
	if (n <= 0)
		return false;
	xg_xs_write("control/shutdown", "");
	say("pvh-demo: shutdown requested: ", req);
	return true;
}

static void serve(struct wl_vcpu *v)
{
	uint64_t start = now_ns(), end = start + opt.duration_ns, t;
	uint64_t batch = opt.rate >= 1000 ? opt.rate / 1000 : 1;

	/* Without a clock, serve what the duration would have held. */
	uint64_t max_reqs = (opt.rate ? opt.rate : 100000) *
			    (opt.duration_ns / 1000000) / 1000;

	if (!start)
		console_puts("pvh-demo: no clock (shared_info not mapped): "
			     "counting requests instead\n");
	wl_log(v, UT_LOG_INFO, "vcpu0 up");
	for (;;) {
		for (uint64_t i = 0; i < batch; i++)
			wl_serve_one(v);
		ut_ctl_poll(); /* apply `unitrace ctl` requests */
		t = now_ns();
		if (!start) {
			if (opt.crash && v->requests >= max_reqs / 2)
				handle_login(v, opt.crash);
			if (v->requests >= max_reqs)
				break;
			continue;
		}
		if (opt.crash && t >= start + opt.after_ns)
			handle_login(v, opt.crash);
		if (t >= end)
			break;
		if (shutdown_requested())
			break;
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
	struct wl_vcpu v;
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

	wl_setup(&(struct wl_platform){"pvh-demo: session table corrupted",
				       crash_pvh});
	wl_vcpu_init(&v, 0, opt.seed);
	wl_log(&v, UT_LOG_INFO, "pvh-demo booting: 1 vCPU");
	if (platform_xs_watch("control/shutdown") != 0)
		console_puts("pvh-demo: cannot watch control/shutdown: "
			     "xl shutdown will not stop the run\n");
	serve(&v);
	wl_log(&v, UT_LOG_INFO, "pvh-demo halting");

	ut_shutdown();
	ut_get_stats(&st);
	print_u64_line("pvh-demo: emitted ", st.emitted, " dropped ", st.dropped);
	platform_poweroff();
}
