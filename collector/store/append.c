/*
 * append.c: the hot path of the store: events into batches and blocks,
 * lost-event ranges, and the transactions that commit them.
 *
 * ut_store_event() copies the event into a batch of UT_STORE_BATCH slots
 * and inserts a full batch with one multi-row INSERT statement; each run
 * of consecutive events of one lane is one row of event_blocks.  Batches
 * and blocks are flushed when the lane changes and at commit.  Per-lane
 * counters (event_count, lost_count, last_seq) and the guests'
 * first_ts/last_ts are accumulated in memory and written once per commit,
 * inside the same transaction as the events.
 *
 * Rule: per event, no malloc, no number formatting, no SQL but the batch
 * INSERT: binding by index only.  Everything of a transaction (rows, lane
 * totals, ids handed out) is stored by its commit or forgotten by its
 * rollback, never half.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "collector.h"
#include "store_int.h"

/* ---- the lane and type caches ------------------------------------------------------ */

/* Lane state of (lane), loaded from the database if needed, or NULL. */
static struct lane_state *lane_get(ut_store_t *st, int64_t lane)
{
	if (UT_LIKELY(lane > 0 && (size_t)lane < st->nlanes &&
		      st->lanes[lane].guest))
		return &st->lanes[lane];
	struct lane_state *ls = store_lane_slot(st, lane);
	if (!ls)
		return NULL;
	sqlite3_stmt *s = store_stmt(st, S_LANE_GET);
	if (!s)
		return NULL;
	sqlite3_bind_int64(s, 1, lane);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memset(ls, 0, sizeof(*ls));
		ls->guest = sqlite3_column_int64(s, 0);
		ls->last_seq = sqlite3_column_type(s, 1) == SQLITE_NULL
				       ? -1
				       : sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW && ls->guest > 0)
		return ls;
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		store_seterr(st, "no lane %lld in the database",
			     (long long)lane);
	else
		store_dberr(st, "reading a lane");
	return NULL;
}

static int mark_dirty(ut_store_t *st, int64_t lane, struct lane_state *ls)
{
	if (ls->dirty)
		return 0;
	if (st->ndirty == st->cap_dirty) {
		size_t n = st->cap_dirty ? st->cap_dirty * 2 : 16;
		int64_t *p = realloc(st->dirty, n * sizeof(*p));
		if (!p)
			return store_oom(st);
		st->dirty = p;
		st->cap_dirty = n;
	}
	st->dirty[st->ndirty++] = lane;
	ls->dirty = true;
	ls->p_last_seq = ls->last_seq;
	ls->p_events = ls->p_lost = 0;
	ls->p_ts_min = INT64_MAX;
	ls->p_ts_max = INT64_MIN;
	return 0;
}

/* Guest of stored event type (id), loaded if needed; 0 if unknown. */
static int64_t type_guest(ut_store_t *st, int64_t id)
{
	if (UT_LIKELY(id > 0 && (size_t)id < st->ntypes && st->types[id].guest))
		return st->types[id].guest;
	if (store_grow((void **)&st->types, &st->ntypes, sizeof(*st->types),
		       id))
		return 0;
	sqlite3_stmt *s = store_stmt(st, S_TYPE_GET);
	if (!s)
		return 0;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW)
		st->types[id].guest = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return st->types[id].guest;
}

/* ---- the hot path: batches and blocks ---------------------------------------- */

/* Bind buffered slot (sl) at parameter base (p) of (s); (bound) tracks the
 * a-columns bound non-NULL in that slot. */
static inline void bind_slot(ut_store_t *st, sqlite3_stmt *s, int p,
			     int64_t lane, const struct slot *sl,
			     uint8_t *bound)
{
	sqlite3_bind_int64(s, p, sl->ts);
	sqlite3_bind_int64(s, p + 1, lane);
	sqlite3_bind_int64(s, p + 2, sl->type);
	sqlite3_bind_int64(s, p + 3, sl->seq);
	if (sl->dur < 0)
		sqlite3_bind_null(s, p + 4);
	else
		sqlite3_bind_int64(s, p + 4, sl->dur);
	p += 5;
	for (int i = 0; i < sl->nvals; i++) {
		const struct slot_val *v = &sl->vals[i];

		switch (v->type) {
		case UT_T_F64:
			sqlite3_bind_double(s, p + i, v->v.f);
			break;
		case UT_T_STR:
			sqlite3_bind_text(s, p + i,
					  (const char *)st->arena + v->v.off,
					  v->len, SQLITE_STATIC);
			break;
		case UT_T_BYTES:
			sqlite3_bind_blob(s, p + i, st->arena + v->v.off,
					  v->len, SQLITE_STATIC);
			break;
		case 0: /* unknown type: NULL */
			sqlite3_bind_null(s, p + i);
			break;
		default:
			sqlite3_bind_int64(s, p + i, v->v.i);
			break;
		}
	}
	for (int i = sl->nvals; i < *bound; i++)
		sqlite3_bind_null(s, p + i);
	*bound = sl->nvals;
}

/* Insert the buffered events of the open block. */
static int flush_buf(ut_store_t *st)
{
	uint32_t i = 0, n = st->nbuf;
	int64_t lane = st->blk.lane;
	sqlite3_stmt *s;

	if (!n)
		return 0;
	st->nbuf = 0;
	st->arena_used = 0;
	if (n == UT_STORE_BATCH) {
		if (!(s = store_stmt(st, S_EVN)))
			return -1;
		for (; i < n; i++)
			bind_slot(st, s, (int)i * UT_EV_COLS + 1, lane,
				  &st->buf[i], &st->bound_evn[i]);
		if (store_step_done(st, s, "storing events"))
			return -1;
	} else {
		if (!(s = store_stmt(st, S_EV1)))
			return -1;
		for (; i < n; i++) {
			bind_slot(st, s, 1, lane, &st->buf[i], &st->bound_ev1);
			if (store_step_done(st, s, "storing an event"))
				return -1;
		}
	}
	/* Rowids are max(rowid)+1 and we are the only writer, so the
	 * rows just inserted are contiguous. */
	int64_t last = sqlite3_last_insert_rowid(st->db);
	if (!st->blk.row_first)
		st->blk.row_first = last - (int64_t)n + 1;
	st->blk.row_last = last;
	return 0;
}

/* Flush and write the open block, and fold it into its lane's totals. */
static int close_block(ut_store_t *st)
{
	struct block *b = &st->blk;
	sqlite3_stmt *s;

	if (!b->lane)
		return 0;
	if (flush_buf(st))
		return -1;
	if (!(s = store_stmt(st, S_BLOCK)))
		return -1;
	sqlite3_bind_int64(s, 1, b->lane);
	sqlite3_bind_int64(s, 2, b->ts_min);
	sqlite3_bind_int64(s, 3, b->ts_max);
	sqlite3_bind_int64(s, 4, b->row_first);
	sqlite3_bind_int64(s, 5, b->row_last);
	sqlite3_bind_int64(s, 6, b->count);
	if (store_step_done(st, s, "storing an event block"))
		return -1;

	struct lane_state *ls = &st->lanes[b->lane];
	ls->p_events += b->count;
	if (b->ts_min < ls->p_ts_min)
		ls->p_ts_min = b->ts_min;
	if (b->ts_max > ls->p_ts_max)
		ls->p_ts_max = b->ts_max;
	if (b->seq_max > ls->p_last_seq)
		ls->p_last_seq = b->seq_max;
	memset(b, 0, sizeof(*b));
	return 0;
}

int ut_store_event(ut_store_t *st, int64_t lane, const ut_event_t *ev)
{
	struct lane_state *ls;
	struct block *b = &st->blk;

	if (store_need_txn(st))
		return -1;
	if (UT_LIKELY(lane == st->cur_lane)) {
		ls = st->cur;
	} else {
		if (!(ls = lane_get(st, lane)))
			goto fail;
		if (mark_dirty(st, lane, ls))
			return -1;
		st->cur_lane = lane;
		st->cur = ls;
	}
	int64_t type = ev->type ? ev->type->db_id : 0;
	if (UT_UNLIKELY(type_guest(st, type) != ls->guest)) {
		store_seterr(st,
			     "event type %lld is not a stored type of the "
			     "lane's guest (store it with ut_store_evtype in "
			     "this transaction or a committed one)",
			     (long long)type);
		goto fail;
	}
	if (UT_UNLIKELY(ev->nvals > UT_MAX_FIELDS)) {
		store_seterr(st, "event with %u fields", ev->nvals);
		goto fail;
	}

	int64_t ts = ev->ts;
	if (b->lane == lane && b->count < UT_BLOCK_ROWS) {
		/* Keep ts_max - ts_min within the span bound. */
		uint64_t lo = (uint64_t)(ts < b->ts_min ? ts : b->ts_min);
		uint64_t hi = (uint64_t)(ts > b->ts_max ? ts : b->ts_max);
		if (UT_UNLIKELY(hi - lo > (uint64_t)UT_BLOCK_SPAN_NS) &&
		    close_block(st))
			goto fail;
	} else if (close_block(st)) {
		goto fail;
	}
	if (!b->lane) {
		b->lane = lane;
		b->ts_min = b->ts_max = ts;
		b->seq_max = (int64_t)ev->seq;
	} else {
		if (ts < b->ts_min)
			b->ts_min = ts;
		if (ts > b->ts_max)
			b->ts_max = ts;
		if ((int64_t)ev->seq > b->seq_max)
			b->seq_max = (int64_t)ev->seq;
	}
	b->count++;

	struct slot *sl = &st->buf[st->nbuf];
	sl->ts = ts;
	sl->seq = (int64_t)ev->seq;
	sl->dur = ev->dur;
	sl->type = type;
	sl->nvals = ev->nvals;
	for (int i = 0; i < ev->nvals; i++) {
		const ut_value_t *v = &ev->vals[i];
		struct slot_val *o = &sl->vals[i];

		o->type = v->type;
		switch (v->type) {
		case UT_T_U8: case UT_T_U16: case UT_T_U32: case UT_T_U64:
			o->v.i = (int64_t)v->v.u; /* U64: bit pattern */
			break;
		case UT_T_S8: case UT_T_S16: case UT_T_S32: case UT_T_S64:
			o->v.i = v->v.s;
			break;
		case UT_T_F64:
			o->v.f = v->v.f;
			break;
		case UT_T_STR:
		case UT_T_BYTES: {
			uint16_t len = v->len;
			if (len > UT_MAX_RECORD ||
			    st->arena_used + len > sizeof(st->arena) ||
			    (len && !v->v.p)) {
				store_seterr(st,
					     "event field %d: bad length %u",
					     i, len);
				goto fail;
			}
			if (len)
				memcpy(st->arena + st->arena_used, v->v.p, len);
			o->v.off = st->arena_used;
			o->len = len;
			st->arena_used += len;
			break;
		}
		default:
			o->type = 0;
			break;
		}
	}
	if (++st->nbuf == UT_STORE_BATCH && flush_buf(st))
		goto fail;
	return 0;
fail:
	st->failed = true;
	return -1;
}

/* ---- transactions ------------------------------------------------------------------ */

/* Open or close the transaction state of (st): no add failed, no
 * current lane. */
static void txn_state(ut_store_t *st, bool open)
{
	st->in_txn = open;
	st->failed = false;
	st->cur_lane = 0;
	st->cur = NULL;
}

int ut_store_begin(ut_store_t *st)
{
	if (st->in_txn) {
		store_seterr(st, "a transaction is already open");
		return -1;
	}
	if (st->readonly) {
		store_seterr(st, "the database is open read-only");
		return -1;
	}
	if (store_exec(st->db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		store_seterr(st, "starting a transaction: %s",
			     sqlite3_errmsg(st->db));
		return -1;
	}
	txn_state(st, true);
	return 0;
}

/* Forget everything of the open transaction (after ROLLBACK). */
static void txn_discard(ut_store_t *st)
{
	for (size_t i = 0; i < st->ndirty; i++)
		st->lanes[st->dirty[i]].dirty = false;
	st->ndirty = 0;
	for (size_t i = 0; i < st->nlanes; i++)
		if (st->lanes[i].created)
			memset(&st->lanes[i], 0, sizeof(st->lanes[i]));
	for (size_t i = 0; i < st->ntypes; i++)
		if (st->types[i].created)
			memset(&st->types[i], 0, sizeof(st->types[i]));
	memset(&st->blk, 0, sizeof(st->blk));
	st->nbuf = 0;
	st->arena_used = 0;
	txn_state(st, false);
}

int ut_store_rollback(ut_store_t *st)
{
	int rc = 0;

	if (!st->in_txn)
		return 0;
	if (!sqlite3_get_autocommit(st->db) &&
	    store_exec(st->db, "ROLLBACK") != SQLITE_OK) {
		store_seterr(st, "rolling back: %s", sqlite3_errmsg(st->db));
		rc = -1;
	}
	txn_discard(st);
	return rc;
}

/* Write the per-lane and per-guest totals of the open transaction. */
static int write_totals(ut_store_t *st)
{
	for (size_t i = 0; i < st->ndirty; i++) {
		int64_t lane = st->dirty[i];
		struct lane_state *ls = &st->lanes[lane];
		sqlite3_stmt *s;

		if (!ls->p_events && !ls->p_lost &&
		    ls->p_last_seq == ls->last_seq)
			continue;
		if (!(s = store_stmt(st, S_LANE_UPD)))
			return -1;
		if (ls->p_last_seq < 0)
			sqlite3_bind_null(s, 1);
		else
			sqlite3_bind_int64(s, 1, ls->p_last_seq);
		sqlite3_bind_int64(s, 2, ls->p_events);
		sqlite3_bind_int64(s, 3, ls->p_lost);
		sqlite3_bind_int64(s, 4, lane);
		if (store_step_done(st, s, "updating a lane"))
			return -1;
		if (!ls->p_events)
			continue;
		if (!(s = store_stmt(st, S_GUEST_UPD)))
			return -1;
		sqlite3_bind_int64(s, 1, ls->p_ts_min);
		sqlite3_bind_int64(s, 2, ls->p_ts_max);
		sqlite3_bind_int64(s, 3, ls->guest);
		if (store_step_done(st, s, "updating a guest's time span"))
			return -1;
	}
	return 0;
}

int ut_store_commit(ut_store_t *st)
{
	char keep[sizeof(st->errmsg)];

	if (!st->in_txn) {
		store_seterr(st, "no transaction open");
		return -1;
	}
	if (st->failed || close_block(st) || write_totals(st))
		goto fail;
	if (store_exec(st->db, "COMMIT") != SQLITE_OK) {
		store_seterr(st, "committing: %s", sqlite3_errmsg(st->db));
		goto fail;
	}
	for (size_t i = 0; i < st->ndirty; i++) {
		struct lane_state *ls = &st->lanes[st->dirty[i]];
		ls->last_seq = ls->p_last_seq;
		ls->dirty = false;
	}
	st->ndirty = 0;
	for (size_t i = 0; i < st->nlanes; i++)
		st->lanes[i].created = false;
	for (size_t i = 0; i < st->ntypes; i++)
		st->types[i].created = false;
	txn_state(st, false); /* st->failed is false here already */
	return 0;
fail:
	/* Keep the first error; ROLLBACK's own failure adds nothing. */
	memcpy(keep, st->errmsg, sizeof(keep));
	ut_store_rollback(st);
	memcpy(st->errmsg, keep, sizeof(keep));
	return -1;
}

/* ---- lane accounting: last_seq, lost ranges ------------------------------------------ */

int64_t ut_store_lane_last_seq(ut_store_t *st, int64_t lane)
{
	struct lane_state *ls = lane_get(st, lane);

	if (!ls)
		return -1;
	if (ls->dirty) {
		/* Include the open block, not yet folded into the lane. */
		int64_t v = ls->p_last_seq;
		if (st->blk.lane == lane && st->blk.seq_max > v)
			v = st->blk.seq_max;
		return v;
	}
	return ls->last_seq;
}

int ut_store_lost(ut_store_t *st, int64_t lane, uint64_t seq_first,
		  uint64_t count, int64_t ts_before, int64_t ts_after,
		  int reason)
{
	static const char *const reasons[] = {
		[UT_LOST_GUEST] = "guest",
		[UT_LOST_OVERWRITE] = "overwrite",
		[UT_LOST_CORRUPT] = "corrupt",
	};
	struct lane_state *ls;
	sqlite3_stmt *s;

	if (store_need_txn(st))
		return -1;
	if (reason < 0 || reason > UT_LOST_CORRUPT) {
		store_seterr(st, "bad lost-event reason %d", reason);
		return -1;
	}
	if (!(ls = lane_get(st, lane)) || mark_dirty(st, lane, ls))
		goto fail;
	if (count > INT64_MAX)
		count = INT64_MAX;
	if (!(s = store_stmt(st, S_LOST_INS)))
		goto fail;
	sqlite3_bind_int64(s, 1, lane);
	sqlite3_bind_int64(s, 2, (int64_t)seq_first);
	sqlite3_bind_int64(s, 3, (int64_t)count);
	store_bind_opt_ts(s, 4, ts_before);
	store_bind_opt_ts(s, 5, ts_after);
	sqlite3_bind_text(s, 6, reasons[reason], -1, SQLITE_STATIC);
	if (store_step_done(st, s, "storing lost events"))
		goto fail;
	/* Saturate: a guest decides its gaps (up to 2^63 each, several per
	 * lane per transaction), and the sum must stay a valid count. */
	if ((int64_t)count > INT64_MAX - ls->p_lost)
		ls->p_lost = INT64_MAX;
	else
		ls->p_lost += (int64_t)count;
	/* last_seq covers what is accounted for, stored or lost, so that a
	 * restarted collector does not record the same loss twice. */
	if (count) {
		uint64_t end = seq_first + count - 1;
		if (end < seq_first || end > INT64_MAX)
			end = INT64_MAX;
		if ((int64_t)end > ls->p_last_seq)
			ls->p_last_seq = (int64_t)end;
	}
	return 0;
fail:
	st->failed = true;
	return -1;
}
