/*
 * Reading one guest's shared area, whatever the transport mapped it from.
 *
 * The guest is untrusted.  Rules followed throughout:
 * - the constant part of the header is copied once, validated, and only the
 *   copy is used afterwards (a guest rewriting its layout later changes
 *   nothing here);
 * - each index the guest publishes is read once per drain, with acquire
 *   ordering, and checked against what the protocol allows;
 * - ring bytes are copied out before a single one is decoded;
 * - a violation marks the guest corrupt (the caller detaches it) and never
 *   stops the collector.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

#define FAIL(r, ...) (snprintf((r)->err, sizeof((r)->err), __VA_ARGS__), -1)
/* Re-reads of a ring's (oldest, head) pair that the producer lapped while it
 * was read (ut_reader_drain). */
#define UT_READER_RETRIES 64

struct region {
	uint64_t off, len;
	const char *what;
};

static bool overlaps(const struct region *a, const struct region *b)
{
	return a->off < b->off + b->len && b->off < a->off + a->len;
}

/* off + len <= limit without overflow. */
static bool fits(uint64_t off, uint64_t len, uint64_t limit)
{
	return off <= limit && len <= limit - off;
}

uint32_t ut_reader_state(const ut_reader_t *r)
{
	return ut_load_acquire(&((const struct ut_area_hdr *)r->base)->state);
}

int ut_reader_attach(ut_reader_t *r, void *base, uint64_t size)
{
	struct ut_area_hdr *h = &r->hdr;
	struct region reg[5 + UT_MAX_RINGS];
	unsigned nreg = 0;

	memset(r, 0, sizeof(*r));
	r->base = base;
	r->size = size;
	if (size < sizeof(*h))
		return FAIL(r, "shared area is %llu bytes, smaller than its header",
			    (unsigned long long)size);
	memcpy(h, base, sizeof(*h));
	if (h->magic == __builtin_bswap32(UT_MAGIC))
		return FAIL(r, "shared area was written with the other byte order");
	if (h->magic != UT_MAGIC)
		return FAIL(r, "bad magic 0x%08x (not a unitrace area)", h->magic);
	if (h->byte_order != UT_BYTE_ORDER_MARK)
		return FAIL(r, "bad byte-order mark 0x%08x", h->byte_order);
	if (h->abi_version != UT_ABI_VERSION)
		return FAIL(r, "guest speaks unitrace ABI version %u, this collector "
			    "speaks version %u: rebuild the guest or the collector "
			    "from the same release", h->abi_version, UT_ABI_VERSION);
	if (ut_load_acquire(&((struct ut_area_hdr *)base)->state) == UT_STATE_INIT)
		return 1;
	/* Read the header again now that the guest says it is complete. */
	memcpy(h, base, sizeof(*h));
	if (h->magic != UT_MAGIC || h->abi_version != UT_ABI_VERSION)
		return FAIL(r, "guest rewrote its magic or ABI version");
	if (h->hdr_size != sizeof(*h) || h->page_size != UT_PAGE_SIZE)
		return FAIL(r, "header size %u / page size %u not supported",
			    h->hdr_size, h->page_size);
	if (h->area_size > size || h->area_size < sizeof(*h))
		return FAIL(r, "area claims %llu bytes but %llu are mapped",
			    (unsigned long long)h->area_size,
			    (unsigned long long)size);
	if (h->nr_rings < 1 || h->nr_rings > UT_MAX_RINGS)
		return FAIL(r, "invalid ring count %u", h->nr_rings);
	if (h->ring_hdr_size != UT_RING_HDR_SIZE || h->ring_hdr_off % UT_CACHE_LINE)
		return FAIL(r, "invalid ring header layout");
	if (h->schema_cap > 0xffff || h->schema_off % 8)
		return FAIL(r, "invalid schema region");
	if (h->clock_shift > 63 || h->clock_mult >= (1ull << 48) ||
	    h->clock_source > UT_CLOCK_CNTVCT)
		return FAIL(r, "invalid clock calibration (mult %llu, shift %u)",
			    (unsigned long long)h->clock_mult, h->clock_shift);
	if (h->build_id_len > UT_BUILD_ID_MAX)
		return FAIL(r, "invalid build id length %u", h->build_id_len);

	reg[nreg++] = (struct region){0, sizeof(*h), "header"};
	reg[nreg++] = (struct region){h->schema_off,
		(uint64_t)h->schema_cap * UT_SCHEMA_ENTRY_SIZE, "schema"};
	reg[nreg++] = (struct region){h->crash_off, h->crash_size, "crash record"};
	reg[nreg++] = (struct region){h->ring_hdr_off,
		(uint64_t)h->nr_rings * UT_RING_HDR_SIZE, "ring headers"};

	for (unsigned i = 0; i < nreg; i++) /* the fixed regions first */
		if (!fits(reg[i].off, reg[i].len, h->area_size) ||
		    (i && overlaps(&reg[i], &reg[0])))
			return FAIL(r, "%s region [%llu, +%llu) lies outside the "
				    "area or over its header", reg[i].what,
				    (unsigned long long)reg[i].off,
				    (unsigned long long)reg[i].len);

	r->nr_rings = h->nr_rings;
	for (uint32_t i = 0; i < h->nr_rings; i++) {
		ut_rd_ring_t *rr = &r->rings[i];
		struct ut_ring_hdr *rh = (struct ut_ring_hdr *)(r->base +
				h->ring_hdr_off) + i;
		rr->rh = rh;
		rr->data_off = ut_load_once(&rh->data_off);
		rr->data_size = ut_load_once(&rh->data_size);
		rr->vcpu = ut_load_once(&rh->vcpu);
		rr->mask = rr->data_size - 1;
		rr->last_ts = -1;
		if (rr->data_size < UT_MIN_RING_SIZE ||
		    rr->data_size > UT_MAX_RING_SIZE ||
		    (rr->data_size & rr->mask) || rr->data_off % UT_PAGE_SIZE)
			return FAIL(r, "ring %u has invalid data area (offset %llu, "
				    "size %llu)", i,
				    (unsigned long long)rr->data_off,
				    (unsigned long long)rr->data_size);
		reg[nreg++] = (struct region){rr->data_off, rr->data_size,
					      "ring data"};
		for (uint32_t j = 0; j < i; j++)
			if (r->rings[j].vcpu == rr->vcpu)
				return FAIL(r, "rings %u and %u both claim vCPU %u",
					    j, i, rr->vcpu);
	}
	for (unsigned i = 0; i < nreg; i++) {
		if (!fits(reg[i].off, reg[i].len, h->area_size))
			return FAIL(r, "%s region [%llu, +%llu) lies outside the "
				    "%llu-byte area", reg[i].what,
				    (unsigned long long)reg[i].off,
				    (unsigned long long)reg[i].len,
				    (unsigned long long)h->area_size);
		for (unsigned j = 0; j < i; j++)
			if (reg[i].len && reg[j].len && overlaps(&reg[i], &reg[j]))
				return FAIL(r, "%s region overlaps %s region",
					    reg[i].what, reg[j].what);
	}

	/* Start where a previous collector left off: our own 'tail'. */
	for (uint32_t i = 0; i < r->nr_rings; i++) {
		ut_rd_ring_t *rr = &r->rings[i];
		uint64_t head = ut_load_acquire(&rr->rh->head);
		uint64_t tail = ut_load_acquire(&rr->rh->tail);
		if (tail > head || head - tail > rr->data_size || (tail & 7))
			tail = 0; /* reset below by the drain's checks */
		rr->cursor = rr->released = tail;
	}

	r->types = calloc(h->schema_cap ? h->schema_cap : 1, sizeof(*r->types));
	r->buf = malloc(UT_READER_CHUNK);
	if (!r->types || !r->buf) {
		ut_reader_free(r);
		return FAIL(r, "out of memory");
	}
	return 0;
}

void ut_reader_free(ut_reader_t *r)
{
	free(r->types);
	free(r->buf);
	r->types = NULL;
	r->buf = NULL;
}

int ut_reader_schema(ut_reader_t *r)
{
	const struct ut_area_hdr *live = (const struct ut_area_hdr *)r->base;
	uint32_t n = ut_load_acquire(&live->schema_count);
	const struct ut_schema_entry *e = (const struct ut_schema_entry *)(
		r->base + r->hdr.schema_off);

	if (n > r->hdr.schema_cap)
		return FAIL(r, "schema count %u exceeds capacity %u", n,
			    r->hdr.schema_cap);
	r->schema_more = n - r->ntypes > UT_READER_SCHEMA_BATCH;
	if (r->schema_more)
		n = r->ntypes + UT_READER_SCHEMA_BATCH;
	for (uint32_t i = r->ntypes; i < n; i++) {
		ut_evtype_t *t = &r->types[i];
		char why[160];
		if (ut_schema_parse(&e[i], t, why, sizeof(why)) != 0)
			return FAIL(r, "schema entry %u: %s", i, why);
		if (t->id != i + UT_EVENT_ID_FIRST)
			return FAIL(r, "schema entry %u has id %u, expected %u", i,
				    t->id, i + UT_EVENT_ID_FIRST);
		if (r->on_type) {
			int rc = r->on_type(r->on_type_ctx, t);
			if (rc > 0) /* the guest's fault: r->err says why */
				return -1;
			if (rc)
				return -2;
		}
		r->ntypes = i + 1;
	}
	return 0;
}

int64_t ut_reader_ns(const ut_reader_t *r, uint64_t ticks)
{
	const struct ut_area_hdr *h = &r->hdr;
	/* The counter is 64 bits and may wrap (a Xen guest's TSC can start
	 * just below 2^64): the difference is taken modulo 2^64, signed. */
	__int128 d = (int64_t)(ticks - h->clock_ticks_ref);
	__int128 ns = d * (__int128)h->clock_mult;

	ns = ns >= 0 ? ns >> h->clock_shift : -((-ns) >> h->clock_shift);
	ns += h->clock_ns_ref;
	if (ns > INT64_MAX)
		return INT64_MAX;
	if (ns < 0)
		return 0;
	return (int64_t)ns;
}

/* Copy (n) ring bytes from position (pos) into (dst), wrapping. */
static void ring_copy(const ut_reader_t *r, const ut_rd_ring_t *rr,
		      uint8_t *dst, uint64_t pos, uint64_t n)
{
	const uint8_t *data = r->base + rr->data_off;
	uint64_t off = pos & rr->mask;
	uint64_t first = rr->data_size - off;

	if (first >= n) {
		memcpy(dst, data + off, n);
	} else {
		memcpy(dst, data + off, first);
		memcpy(dst + first, data, n - first);
	}
}

/* Pair span ends with their begins on this ring. */
static int64_t span_match(ut_rd_ring_t *rr, const ut_evtype_t *t, int64_t ts)
{
	if (t->kind == UT_KIND_SPAN_BEGIN) {
		if (rr->depth == UT_SPAN_STACK) { /* forget the outermost */
			memmove(&rr->spans[0], &rr->spans[1],
				sizeof(rr->spans[0]) * (UT_SPAN_STACK - 1));
			rr->depth--;
		}
		rr->spans[rr->depth].t = t;
		rr->spans[rr->depth].ts = ts;
		rr->depth++;
		return -1;
	}
	if (t->kind != UT_KIND_SPAN_END)
		return -1;
	for (uint32_t d = rr->depth; d-- > 0;) {
		if (!strcmp(rr->spans[d].t->name, t->name)) {
			int64_t dur = ts - rr->spans[d].ts;
			rr->depth = d;
			return dur >= 0 ? dur : 0;
		}
	}
	return -1;
}

static int emit_lost(ut_reader_t *r, uint32_t i, const ut_sink_t *sink,
		     uint64_t first, uint64_t count, int64_t ts_after,
		     bool overwritten)
{
	ut_rd_ring_t *rr = &r->rings[i];
	uint64_t dropped = ut_load_acquire(&rr->rh->dropped);
	uint64_t by_guest = 0;
	int rc = 0;

	/* The lost events may include the ends of the spans open now: pairing
	 * a later end with one of them would invent a duration, so forget
	 * them (their ends, if they come, get no duration). */
	rr->depth = 0;
	/* Split the gap between guest drops (its counter) and overwrites. */
	if (dropped > rr->dropped_seen)
		by_guest = dropped - rr->dropped_seen;
	if (by_guest > count || !overwritten)
		by_guest = count;
	rr->dropped_seen += by_guest;
	rr->lost += count;
	if (by_guest)
		rc = sink->lost(sink->ctx, i, first, by_guest, rr->last_ts,
				ts_after, UT_LOST_GUEST);
	if (!rc && count > by_guest)
		rc = sink->lost(sink->ctx, i, first + by_guest, count - by_guest,
				rr->last_ts, ts_after, UT_LOST_OVERWRITE);
	return rc ? -2 : 0;
}

/* The evidence of a bad record, after r->err's first words (what): the
 * ring offset, the window this drain copied ([start, start + n) of head,
 * oldest), the 16 bytes the copy holds at the record (the header: id,
 * size, reserved, seq) and the 16 the ring holds there now, with head and
 * oldest read again.  Copy and ring
 * agreeing says the guest wrote those bytes (or its memory was scribbled
 * on); the ring now holding a valid record where the copy had garbage says
 * the bytes were not yet visible when head was (an ordering fault). */
static int fail_record(ut_reader_t *r, uint32_t i, uint64_t start, uint64_t pos,
		       uint64_t n, uint64_t head, uint64_t oldest,
		       const char *what)
{
	ut_rd_ring_t *rr = &r->rings[i];
	uint8_t now[16];
	char was_hex[33], now_hex[33];
	uint64_t have = n - pos < 16 ? n - pos : 16;

	ring_copy(r, rr, now, start + pos, 16);
	ut_rmb();
	for (unsigned k = 0; k < 16; k++) {
		if (k < have)
			snprintf(was_hex + 2 * k, 3, "%02x", r->buf[pos + k]);
		else
			memcpy(was_hex + 2 * k, "..", 3);
		snprintf(now_hex + 2 * k, 3, "%02x", now[k]);
	}
	return FAIL(r, "ring %u: record at position %llu %s [copied %llu+%llu "
		    "of head %llu oldest %llu: %s; ring now %s, head %llu "
		    "oldest %llu]", i, (unsigned long long)(start + pos), what,
		    (unsigned long long)start, (unsigned long long)n,
		    (unsigned long long)head, (unsigned long long)oldest,
		    was_hex, now_hex,
		    (unsigned long long)ut_load_acquire(&rr->rh->head),
		    (unsigned long long)ut_load_acquire(&rr->rh->oldest));
}

long ut_reader_drain(ut_reader_t *r, uint32_t i, const ut_sink_t *sink,
		     uint64_t max_bytes)
{
	ut_rd_ring_t *rr = &r->rings[i];
	uint64_t head, oldest, start, n, pos, skip = 0;
	bool overwritten = false;
	long count = 0;

	/* 'oldest' first: the producer publishes a new oldest (never past the
	 * head it has published) before it moves head, so read in this order
	 * an honest pair has oldest <= head.  In overwrite mode the producer
	 * can still lap the ring between the two loads while this thread is
	 * descheduled: the pair then claims more than a ring's worth unread.
	 * Read it again (a bounded number of times) before calling the guest
	 * corrupt; a guest that keeps showing such a pair is. */
	for (int tries = 0;; tries++) {
		oldest = ut_load_acquire(&rr->rh->oldest);
		head = ut_load_acquire(&rr->rh->head);
		start = oldest > rr->cursor ? oldest : rr->cursor;
		if (tries == UT_READER_RETRIES || oldest > head ||
		    head < rr->cursor || head - start <= rr->data_size)
			break;
	}
	if (head < rr->cursor || (head & 7))
		return FAIL(r, "ring %u: head %llu invalid (cursor %llu)", i,
			    (unsigned long long)head,
			    (unsigned long long)rr->cursor);
	if (oldest > head || (oldest & 7))
		return FAIL(r, "ring %u: oldest %llu invalid (head %llu)", i,
			    (unsigned long long)oldest, (unsigned long long)head);
	start = rr->cursor;
	if (oldest > start) {
		start = oldest;
		overwritten = true;
	}
	if (head - start > rr->data_size)
		return FAIL(r, "ring %u: %llu unread bytes in a %llu-byte ring", i,
			    (unsigned long long)(head - start),
			    (unsigned long long)rr->data_size);
	n = head - start;
	if (n > max_bytes)
		n = max_bytes;
	if (n > UT_READER_CHUNK)
		n = UT_READER_CHUNK;
	if (n == 0)
		return 0;
	ring_copy(r, rr, r->buf, start, n);

	/* Did the producer overwrite the front of what we copied? */
	ut_rmb();
	uint64_t oldest2 = ut_load_once(&rr->rh->oldest);
	if (oldest2 > start) {
		if (oldest2 > start + n) {
			if (oldest2 & 7)
				return FAIL(r, "ring %u: oldest %llu unaligned", i,
					    (unsigned long long)oldest2);
			rr->cursor = oldest2; /* all of it torn: retry later */
			return 0;
		}
		skip = oldest2 - start;
		overwritten = true;
	}

	for (pos = skip; pos < n;) {
		struct ut_event_hdr eh;
		ut_event_t ev;
		char why[160];
		bool partial_ok = start + n < head; /* chunk cut, not corruption */

		if (n - pos < sizeof(eh)) {
			if (partial_ok)
				break;
			return fail_record(r, i, start, pos, n, head, oldest,
					   "is cut short (stray bytes)");
		}
		memcpy(&eh, r->buf + pos, sizeof(eh));
		if (eh.size < UT_EVENT_HDR_SIZE || eh.size > UT_MAX_RECORD ||
		    (eh.size & (UT_RECORD_ALIGN - 1))) {
			char what[32];
			snprintf(what, sizeof(what), "has invalid size %u", eh.size);
			return fail_record(r, i, start, pos, n, head, oldest, what);
		}
		if (eh.size > n - pos) {
			char what[40];
			if (partial_ok)
				break;
			snprintf(what, sizeof(what), "(size %u) runs past head",
				 eh.size);
			return fail_record(r, i, start, pos, n, head, oldest, what);
		}
		if (eh.id < UT_EVENT_ID_FIRST ||
		    eh.id - UT_EVENT_ID_FIRST >= r->ntypes) {
			/* a type published since the last call; with a batch
			 * of the schema still waiting, this record waits for
			 * the next cycle's */
			int rc = r->schema_more ? 0 : ut_reader_schema(r);
			if (rc)
				return rc;
			if (r->schema_more && eh.id >= UT_EVENT_ID_FIRST &&
			    eh.id - UT_EVENT_ID_FIRST >= r->ntypes)
				break;
			if (eh.id < UT_EVENT_ID_FIRST ||
			    eh.id - UT_EVENT_ID_FIRST >= r->ntypes) {
				char what[40];
				snprintf(what, sizeof(what),
					 "has unknown event id %u", eh.id);
				return fail_record(r, i, start, pos, n, head,
						   oldest, what);
			}
		}
		const ut_evtype_t *t = &r->types[eh.id - UT_EVENT_ID_FIRST];
		if (eh.seq < rr->expect_seq) {
			if (eh.seq < rr->dedup_below) {
				/* Stored by an earlier collector. */
				pos += eh.size;
				continue;
			}
			char what[96];
			snprintf(what, sizeof(what), "has a sequence number that "
				 "went back from %llu to %llu",
				 (unsigned long long)rr->expect_seq - 1,
				 (unsigned long long)eh.seq);
			return fail_record(r, i, start, pos, n, head, oldest, what);
		}
		memset(&ev, 0, sizeof(ev));
		ev.seq = eh.seq;
		ev.ts_raw = eh.ts;
		ev.ts = ut_reader_ns(r, eh.ts);
		if (ut_schema_decode(t, r->buf + pos + sizeof(eh),
				     eh.size - sizeof(eh), &ev, why, sizeof(why))) {
			char what[224];
			snprintf(what, sizeof(what), "(seq %llu) does not decode: %s",
				 (unsigned long long)eh.seq, why);
			return fail_record(r, i, start, pos, n, head, oldest, what);
		}
		if (eh.seq > rr->expect_seq) {
			if (emit_lost(r, i, sink, rr->expect_seq,
				      eh.seq - rr->expect_seq, ev.ts, overwritten))
				return -2;
		}
		ev.dur = span_match(rr, t, ev.ts);
		if (sink->event(sink->ctx, i, &ev))
			return -2;
		rr->events++;
		rr->last_ts = ev.ts;
		count++;
		rr->expect_seq = eh.seq + 1;
		pos += eh.size;
	}
	rr->cursor = start + pos;
	return count;
}

void ut_reader_resume(ut_reader_t *r, uint32_t i, uint64_t last_seq)
{
	r->rings[i].expect_seq = last_seq + 1;
	r->rings[i].dedup_below = last_seq + 1;
}

int ut_reader_finish(ut_reader_t *r, uint32_t i, const ut_sink_t *sink)
{
	ut_rd_ring_t *rr = &r->rings[i];
	uint64_t next = ut_load_acquire(&rr->rh->seq_next);

	if (next > rr->expect_seq)
		return emit_lost(r, i, sink, rr->expect_seq,
				 next - rr->expect_seq, -1, false);
	return 0;
}

void ut_reader_release(ut_reader_t *r)
{
	for (uint32_t i = 0; i < r->nr_rings; i++) {
		ut_rd_ring_t *rr = &r->rings[i];
		if (rr->cursor != rr->released) {
			ut_store_release(&rr->rh->tail, rr->cursor);
			rr->released = rr->cursor;
		}
	}
}

bool ut_reader_caught_up(const ut_reader_t *r, uint32_t i)
{
	const ut_rd_ring_t *rr = &r->rings[i];
	return rr->cursor == ut_load_acquire(&rr->rh->head);
}

void ut_reader_announce(ut_reader_t *r, uint32_t pid)
{
	struct ut_area_hdr *live = (struct ut_area_hdr *)r->base;
	ut_store_once(&live->collector_pid, pid);
	ut_store_release(&live->collector_state, (uint32_t)UT_COLL_ATTACHED);
}

void ut_reader_set_collector(ut_reader_t *r, uint32_t state)
{
	struct ut_area_hdr *live = (struct ut_area_hdr *)r->base;
	ut_store_release(&live->collector_state, state);
}

void ut_reader_heartbeat(ut_reader_t *r)
{
	((struct ut_area_hdr *)r->base)->collector_heartbeat++;
}

void ut_reader_guest_info(const ut_reader_t *r, ut_guest_info_t *g)
{
	const struct ut_area_hdr *h = &r->hdr;

	memset(g, 0, sizeof(*g));
	for (unsigned i = 0; i < UT_NAME_LEN && h->name[i]; i++)
		g->name[i] = ut_text_guest_char(h->name[i]);
	for (unsigned i = 0; i < 16 && h->platform[i]; i++)
		g->platform[i] = ut_text_guest_char(h->platform[i]);
	g->pid = h->pid;
	memcpy(g->build_id, h->build_id, h->build_id_len);
	g->build_id_len = h->build_id_len;
	g->nr_rings = h->nr_rings;
	g->abi_version = h->abi_version;
	g->start_realtime = h->clock_realtime_ref > INT64_MAX ? INT64_MAX
			    : (int64_t)h->clock_realtime_ref;
	g->clock_ns_ref = h->clock_ns_ref > INT64_MAX ? INT64_MAX
			  : (int64_t)h->clock_ns_ref;
}

int ut_reader_crash(ut_reader_t *r, struct ut_crash_rec *out)
{
	const uint8_t *src = r->base + r->hdr.crash_off;

	if (r->hdr.crash_size < sizeof(*out))
		return FAIL(r, "crash region of %u bytes is too small",
			    r->hdr.crash_size);
	if (ut_load_acquire((const uint32_t *)src) != UT_CRASH_MAGIC)
		return FAIL(r, "guest is CRASHED but its crash record has no "
			    "valid magic");
	memcpy(out, src, sizeof(*out)); /* one read; only the copy is used */
	out->reason[UT_CRASH_REASON_LEN - 1] = 0;
	for (char *c = out->reason; *c; c++)
		*c = ut_text_guest_char(*c);
	if (out->version != UT_CRASH_VERSION)
		return FAIL(r, "crash record version %u, expected %u",
			    out->version, UT_CRASH_VERSION);
	if (out->kind < UT_CRASH_SIGNAL || out->kind > UT_CRASH_TRAP)
		return FAIL(r, "crash record has invalid kind %u", out->kind);
	if (out->arch != UT_ARCH_X86_64)
		return FAIL(r, "crash record has unknown register layout %u",
			    out->arch);
	if (out->vcpu != 0xffffffffu && out->vcpu >= r->nr_rings)
		return FAIL(r, "crash record names vCPU %u of %u", out->vcpu,
			    r->nr_rings);
	if (out->kind == UT_CRASH_SIGNAL && (out->signo <= 0 || out->signo >= 65))
		return FAIL(r, "crash record has invalid signal %d", out->signo);
	return 0;
}
