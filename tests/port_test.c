/*
 * A test port: the shared area is ordinary memory in the test process, the
 * clock is a counter the test controls, and the vCPU is a variable.  Lets the
 * unmodified guest core run against the collector's reader in one process.
 */
#include <stdlib.h>
#include <string.h>

#include "port_test.h"
#include "ut_port.h"

struct ut_area_hdr *ut_test_area;
size_t ut_test_area_bytes;
uint64_t ut_test_clock = 1000;
int ut_test_fail_alloc;
static __thread int test_vcpu = -1;

void ut_port_defaults(ut_config_t *cfg)
{
	if (!cfg->name)
		cfg->name = "test-guest";
	if (!cfg->nr_rings)
		cfg->nr_rings = 4;
	if (!cfg->ring_size)
		cfg->ring_size = UT_MIN_RING_SIZE;
	if (cfg->mode == UT_CFG_MODE_DEFAULT)
		cfg->mode = UT_CFG_MODE_DISCARD;
}

void *ut_port_alloc_shared(size_t bytes)
{
	void *p;
	if (ut_test_fail_alloc)
		return NULL;
	if (posix_memalign(&p, UT_PAGE_SIZE, bytes))
		return NULL;
	memset(p, 0, bytes);
	ut_test_area = p;
	ut_test_area_bytes = bytes;
	return p;
}

static uint64_t test_ticks(void)
{
	return __atomic_add_fetch(&ut_test_clock, 10, __ATOMIC_RELAXED);
}

ut_ticks_fn ut_port_clock(struct ut_area_hdr *h)
{
	h->clock_source = UT_CLOCK_TSC;
	h->clock_shift = 1; /* 2 ticks per ns: ns = ticks / 2 */
	h->clock_mult = 1;
	h->clock_ticks_ref = 0;
	h->clock_ns_ref = 0;
	h->clock_realtime_ref = 1700000000ull * 1000000000ull;
	h->clock_hz = 2000000000ull;
	return test_ticks;
}

void ut_port_identity(struct ut_area_hdr *h)
{
	h->pid = 4242;
	memcpy(h->platform, "test", 5);
}

int ut_port_publish(struct ut_area_hdr *h, size_t bytes)
{
	(void)h;
	(void)bytes;
	return 0;
}

void ut_port_unpublish(struct ut_area_hdr *h)
{
	(void)h;
}

int ut_port_vcpu(void)
{
	return test_vcpu;
}

void ut_port_set_vcpu(int vcpu)
{
	test_vcpu = vcpu;
}

uint64_t ut_test_notifies;
uint32_t ut_test_notify_ring;

void ut_port_notify(uint32_t ring)
{
	ut_test_notify_ring = ring;
	__atomic_add_fetch(&ut_test_notifies, 1, __ATOMIC_RELAXED);
}

void ut_port_crash_handoff(struct ut_area_hdr *h)
{
	(void)h;
}

void ut_port_die(void)
{
	abort();
}

int ut_port_ctl_poll(void)
{
	return 0; /* the tests call ut_ctl_handle() directly */
}
