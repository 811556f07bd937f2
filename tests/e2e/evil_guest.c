/*
 * A hostile hosted guest for the end-to-end tests: it initialises the
 * tracer normally, emits some good events, waits until the collector has
 * stored them (its tail caught up), then scribbles on its own shared area
 * in the way named by argv[1]:
 *
 *   record   a garbage record published past the good ones
 *   head     a head far beyond the ring
 *   schema   an event type with an invalid kind published later
 *   seq      a record whose sequence number goes backwards
 *   crash-wild     a crash whose registers point nowhere
 *   crash-loop     a crash whose frame pointers form a loop
 *   crash-garbage  a crash record with invalid fields
 *   twin DIR       a second area of its own (same name, pid and start
 *                  time) whose event type 1 has another name, published
 *                  as twin-of-NAME.PID.ut in DIR
 *   steal DIR PREFIX
 *                  a copy of its own area carrying the name, pid and start
 *                  time read from the header of the guest whose entry in
 *                  DIR starts with PREFIX, published in DIR under that
 *                  name and its own pid (run it with UNITRACE_DIR elsewhere)
 *   types DIR N    a copy of its own area with a schema of N (1..65535)
 *                  distinct event types, published as flood-NAME.PID.ut in
 *                  DIR; waits until it is attached and exits
 *   junk DIR N     N entries of junk in DIR (links to nowhere, named
 *                  like guests), then exits
 *   rings SECONDS  floods every ring it has (run it with UNITRACE_RINGS=64)
 *                  from one thread for SECONDS, then prints how many
 *                  events it emitted
 *
 * It then keeps running for a while (the collector must detach it and keep
 * serving other guests) and exits 0.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "guest_area.h"
#include "trace.h"
#include "ut_crash.h"

UT_INSTANT(good, UT_U32(i))

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Publish a copy of area (h), grown by (extra) bytes, as DIR/ENTRY, our
 * own memfd (sealed, locked, as the guest library does); (edit) changes the
 * copy first.  Returns the copy, or NULL. */
static struct ut_area_hdr *publish_copy(const struct ut_area_hdr *h,
					uint64_t extra,
					const char *dir, const char *entry,
					void (*edit)(struct ut_area_hdr *, void *),
					void *arg)
{
	char target[64], link[4096];
	struct ut_area_hdr *c;
	uint64_t size = h->area_size + extra;
	int fd = memfd_create("unitrace", MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
		return NULL;
	c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED)
		return NULL;
	memcpy(c, h, h->area_size);
	c->area_size = size;
	c->collector_state = UT_COLL_NONE;
	c->collector_pid = 0;
	if (edit)
		edit(c, arg);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) ||
	    flock(fd, LOCK_EX))
		return NULL;
	snprintf(target, sizeof(target), "/proc/%d/fd/%d", (int)getpid(), fd);
	snprintf(link, sizeof(link), "%s/%s", dir, entry);
	if (symlink(target, link) != 0)
		return NULL;
	return c;
}

/* twin: event type 1 renamed (same id, another name) */
static void edit_twin(struct ut_area_hdr *c, void *arg)
{
	struct ut_schema_entry *e = (struct ut_schema_entry *)((char *)c +
			c->schema_off);
	(void)arg;
	memset(e->name, 0, sizeof(e->name));
	memcpy(e->name, "twin", 5);
}

/* types: the original schema followed by flood types, (*(unsigned *)arg)
 * entries in all, in the space added after the original area */
static void edit_types(struct ut_area_hdr *c, void *arg)
{
	unsigned n = *(const unsigned *)arg, have = c->schema_count;
	const struct ut_schema_entry *old = (const struct ut_schema_entry *)(
			(const char *)c + c->schema_off);
	struct ut_schema_entry *e;

	memset(c->name, 0, sizeof(c->name));
	memcpy(c->name, "flood", 6);
	c->schema_off = (uint32_t)(c->area_size - (uint64_t)n * UT_SCHEMA_ENTRY_SIZE);
	c->schema_cap = n;
	e = (struct ut_schema_entry *)((char *)c + c->schema_off);
	memcpy(e, old, (size_t)have * sizeof(*e));
	for (unsigned i = have; i < n; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].id = (uint16_t)(i + UT_EVENT_ID_FIRST);
		e[i].kind = UT_KIND_INSTANT;
		snprintf(e[i].name, sizeof(e[i].name), "flood%u", i);
	}
	c->schema_count = n;
}

/* steal: the victim's identity */
static void edit_steal(struct ut_area_hdr *c, void *arg)
{
	const struct ut_area_hdr *v = arg;
	memcpy(c->name, v->name, sizeof(c->name));
	c->pid = v->pid;
	c->clock_realtime_ref = v->clock_realtime_ref;
}

/* Wait (bounded, for a broken collector) until (c) is attached and, if
 * (drained), its ring 0 is stored. */
static void wait_collected(struct ut_area_hdr *c, int drained)
{
	struct ut_ring_hdr *r = (struct ut_ring_hdr *)((char *)c + c->ring_hdr_off);
	for (int i = 0; i < 120000; i++) {
		if (__atomic_load_n(&c->collector_state, __ATOMIC_ACQUIRE) !=
		    UT_COLL_NONE && (!drained ||
		    __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >= r->head))
			return;
		nap_ms(1);
	}
}

static int steal(const struct ut_area_hdr *h, const char *dir,
		 const char *prefix)
{
	char path[4096], entry[256];
	struct ut_area_hdr *c, *v = MAP_FAILED;
	struct dirent *de;
	DIR *d = opendir(dir);
	int fd = -1;

	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix))) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			fd = open(path, O_RDONLY);
			break;
		}
	if (d)
		closedir(d);
	if (fd >= 0)
		v = mmap(NULL, sizeof(*v), PROT_READ, MAP_SHARED, fd, 0);
	if (v == MAP_FAILED) {
		fprintf(stderr, "evil_guest: no victim %s in %s\n", prefix, dir);
		return 1;
	}
	snprintf(entry, sizeof(entry), "%.64s.%d.ut", v->name, (int)getpid());
	c = publish_copy(h, 0, dir, entry, edit_steal, v);
	if (!c) {
		perror("evil_guest: steal");
		return 1;
	}
	wait_collected(c, 1);
	__atomic_store_n(&c->state, (uint32_t)UT_STATE_EXITED, __ATOMIC_RELEASE);
	printf("evil-guest: stole %.64s\n", v->name);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* rings: every ring full all the time, for (secs) */
static int flood_rings(const struct ut_area_hdr *h, double secs)
{
	double end = now_s() + secs;
	unsigned long n = 0;

	while (now_s() < end)
		for (uint32_t v = 0; v < h->nr_rings; v++) {
			ut_set_vcpu(v);
			for (uint32_t i = 0; i < 64; i++, n++)
				ut_good((uint32_t)n);
		}
	printf("evil-guest: flooded %u rings with %lu events\n", h->nr_rings, n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "record";
	struct ut_area_hdr *h;
	struct ut_ring_hdr *rh;

	if (ut_init(NULL) != 0)
		return 1;
	ut_set_vcpu(0);
	for (uint32_t i = 0; i < 1000; i++)
		ut_good(i);
	h = find_area();
	if (!h) {
		fprintf(stderr, "evil_guest: shared area not found\n");
		return 1;
	}
	if (!strcmp(how, "steal")) /* nobody collects our own area */
		return argc > 3 ? steal(h, argv[2], argv[3]) : 2;
	if (!strcmp(how, "junk") && argc > 3) {
		char link[4096];
		unsigned long n = strtoul(argv[3], NULL, 10);
		for (unsigned long i = 0; i < n; i++) {
			snprintf(link, sizeof(link), "%s/junk%lu.1.ut", argv[2], i);
			if (symlink("/nonexistent/unitrace-junk", link) != 0) {
				perror("evil_guest: junk");
				return 1;
			}
		}
		printf("evil-guest: %lu junk entries\n", n);
		return 0;
	}
	if (!strcmp(how, "rings"))
		return flood_rings(h, argc > 2 ? atof(argv[2]) : 1);
	if (!strcmp(how, "types") && argc > 3) {
		char entry[256];
		unsigned n = (unsigned)strtoul(argv[3], NULL, 10);
		struct ut_area_hdr *c;
		uint64_t extra = ((uint64_t)n * UT_SCHEMA_ENTRY_SIZE + 4095) & ~4095ull;
		if (n < 1 || n > 65535)
			return 2;
		snprintf(entry, sizeof(entry), "flood-%.64s.%d.ut", h->name,
			 (int)getpid());
		if (!(c = publish_copy(h, extra, argv[2], entry, edit_types, &n))) {
			perror("evil_guest: types");
			return 1;
		}
		wait_collected(c, 0);
		__atomic_store_n(&c->state, (uint32_t)UT_STATE_EXITED, __ATOMIC_RELEASE);
		printf("evil-guest: published %u types\n", n);
		return 0;
	}
	rh = (struct ut_ring_hdr *)((char *)h + h->ring_hdr_off);
	uint8_t *data = (uint8_t *)h + rh->data_off;
	uint64_t head = rh->head, mask = rh->data_size - 1;
	/* the good events are stored (the collector releases its tail only
	 * after committing them) before the scribbling starts; the bound only
	 * keeps a broken collector from hanging the test */
	for (int i = 0; i < 120000 &&
	     __atomic_load_n(&rh->tail, __ATOMIC_ACQUIRE) < head; i++)
		nap_ms(1);

	if (!strncmp(how, "crash-", 6)) {
		uint64_t regs[UT_CRASH_NREGS] = {0};
		volatile uint64_t frame[4];
		if (!strcmp(how, "crash-wild")) {
			regs[UT_X86_RIP] = 0x1234;
			regs[UT_X86_RBP] = 0xdeadbeefcafe0000ull;
			regs[UT_X86_RSP] = 0x10;
		} else if (!strcmp(how, "crash-loop")) {
			frame[0] = (uint64_t)&frame[0]; /* saved rbp = itself */
			frame[1] = (uint64_t)&main;
			regs[UT_X86_RIP] = (uint64_t)&main;
			regs[UT_X86_RBP] = (uint64_t)&frame[0];
			regs[UT_X86_RSP] = (uint64_t)&frame[0];
		} else {
			struct ut_crash_rec *c = (struct ut_crash_rec *)((char *)h +
					h->crash_off);
			memset(c, 0xa5, sizeof(*c));
			c->version = UT_CRASH_VERSION;
			c->kind = 99;
			__atomic_store_n(&c->magic, UT_CRASH_MAGIC, __ATOMIC_RELEASE);
			__atomic_store_n(&h->state, (uint32_t)UT_STATE_CRASHED,
					 __ATOMIC_RELEASE);
			for (int i = 0; i < 10000 &&
			     __atomic_load_n(&h->collector_state, __ATOMIC_ACQUIRE) ==
				     UT_COLL_ATTACHED; i++)
				nap_ms(1);
			return 3;
		}
		ut_crash(UT_CRASH_SIGNAL, 11, 1, 0xdead, regs, 0, "evil crash");
		(void)frame;
		return 3;
	} else if (!strcmp(how, "record")) {
		memset(data + (head & mask), 0xa5, 64);
		__atomic_store_n(&rh->head, head + 64, __ATOMIC_RELEASE);
	} else if (!strcmp(how, "head")) {
		__atomic_store_n(&rh->head, head + rh->data_size * 8, __ATOMIC_RELEASE);
	} else if (!strcmp(how, "schema")) {
		struct ut_schema_entry *e = (struct ut_schema_entry *)((char *)h +
				h->schema_off) + h->schema_count;
		e->id = (uint16_t)(h->schema_count + 1);
		e->kind = 77;
		memcpy(e->name, "bogus", 6);
		__atomic_store_n(&h->schema_count, h->schema_count + 1, __ATOMIC_RELEASE);
	} else if (!strcmp(how, "seq")) {
		struct ut_event_hdr *e = (struct ut_event_hdr *)(data + (head & mask));
		memcpy(e, data, 24 + 8); /* copy of the first record: seq 0 */
		__atomic_store_n(&rh->head, head + e->size, __ATOMIC_RELEASE);
	} else if (!strcmp(how, "twin") && argc > 2) {
		char entry[256];
		struct ut_area_hdr *c;
		snprintf(entry, sizeof(entry), "twin-of-%.64s.%d.ut", h->name,
			 (int)getpid());
		if (!(c = publish_copy(h, 0, argv[2], entry, edit_twin, NULL))) {
			perror("evil_guest: twin");
			return 1;
		}
		wait_collected(c, 0);
	} else {
		fprintf(stderr, "evil_guest: unknown mode %s\n", how);
		return 2;
	}
	nap_ms(700);
	printf("evil-guest: scribbled %s\n", how);
	return 0;
}
