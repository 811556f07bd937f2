/*
 * catalog.c: the rows that name what the events refer to: guests, lanes,
 * event types (event_types, event_fields) and the ev_<name> views.
 *
 * Rule: find before insert.  A guest is the same guest when its (name,
 * pid, start_realtime) are; a lane is (guest, vcpu); an event type is
 * (guest, guest_type_id) and must keep its name, kind and layout.  Ids
 * handed out inside a transaction that rolls back are void (append.c
 * forgets them).  A view is made once per (name, kind, layout).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "collector.h"
#include "store_int.h"
#include "tracedb.h"

/* ---- names stored as text ------------------------------------------------------------ */

static const char *const ftype_names[UT_T__COUNT] = {
	[UT_T_U8] = "u8",   [UT_T_U16] = "u16", [UT_T_U32] = "u32",
	[UT_T_U64] = "u64", [UT_T_S8] = "s8",   [UT_T_S16] = "s16",
	[UT_T_S32] = "s32", [UT_T_S64] = "s64", [UT_T_F64] = "f64",
	[UT_T_STR] = "str", [UT_T_BYTES] = "bytes",
};

/* event_types.kind: the one table of kind names (collector/db/tracedb.c),
 * shared with every reader of the database */
static const char *kind_name(unsigned k)
{
	const char *n = k < UT_KIND__COUNT ? ut_kind_name((int)k) : NULL;
	return n ? n : "unknown";
}

static const char *ftype_name(unsigned t)
{
	return t < UT_T__COUNT && ftype_names[t] ? ftype_names[t] : "unknown";
}

/* ---- guests, lanes, types ------------------------------------------------------ */

int64_t ut_store_guest(ut_store_t *st, const ut_guest_info_t *g)
{
	sqlite3_stmt *s;
	int64_t id = -1;
	int rc;

	if (store_need_txn(st) || !(s = store_stmt(st, S_GUEST_FIND)))
		return -1;
	sqlite3_bind_text(s, 1, g->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, g->pid);
	sqlite3_bind_int64(s, 3, g->start_realtime);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return id;
	if (rc != SQLITE_DONE)
		return store_dberr(st, "looking up a guest");

	char hex[2 * UT_BUILD_ID_MAX + 1];
	uint32_t n = g->build_id_len > UT_BUILD_ID_MAX ? UT_BUILD_ID_MAX
						       : g->build_id_len;
	for (uint32_t i = 0; i < n; i++) {
		hex[2 * i] = "0123456789abcdef"[g->build_id[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[g->build_id[i] & 15];
	}
	hex[2 * n] = 0;
	if (!(s = store_stmt(st, S_GUEST_INS)))
		return -1;
	sqlite3_bind_text(s, 1, g->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, g->platform, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, g->pid);
	if (n)
		sqlite3_bind_text(s, 4, hex, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 4);
	sqlite3_bind_int64(s, 5, g->nr_rings);
	sqlite3_bind_int64(s, 6, g->abi_version);
	sqlite3_bind_int64(s, 7, g->start_realtime);
	sqlite3_bind_int64(s, 8, g->clock_ns_ref);
	sqlite3_bind_text(s, 9, g->source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 10, store_now_realtime_ns());
	if (store_step_done(st, s, "storing a guest"))
		return -1;
	return sqlite3_last_insert_rowid(st->db);
}

int ut_store_guest_status(ut_store_t *st, int64_t guest, const char *status,
			  const char *reason)
{
	static const char *const ok[] = { "running", "exited", "crashed",
					  "corrupt", "rejected", "vanished" };
	sqlite3_stmt *s;
	size_t i;

	if (store_need_txn(st))
		return -1;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (status && !strcmp(status, ok[i]))
			break;
	if (i == sizeof(ok) / sizeof(ok[0])) {
		store_seterr(st, "bad guest status '%s'",
			     status ? status : "(null)");
		return -1; /* a caller bug, not a database failure */
	}
	if (!(s = store_stmt(st, S_GUEST_STATUS)))
		return -1;
	sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
	store_bind_opt_text(s, 2, reason, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, guest);
	if (store_step_done(st, s, "setting a guest's status"))
		return -1;
	return store_changed_one(st, "guest", guest);
}

int64_t ut_store_lane(ut_store_t *st, int64_t guest, uint32_t vcpu)
{
	sqlite3_stmt *s;
	int64_t id = -1, last = -1;
	bool created = false;
	int rc;

	if (store_need_txn(st) || !(s = store_stmt(st, S_LANE_FIND)))
		return -1;
	sqlite3_bind_int64(s, 1, guest);
	sqlite3_bind_int64(s, 2, vcpu);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 0);
		if (sqlite3_column_type(s, 1) != SQLITE_NULL)
			last = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dberr(st, "looking up a lane");
	if (rc == SQLITE_DONE) {
		if (!(s = store_stmt(st, S_LANE_INS)))
			return -1;
		sqlite3_bind_int64(s, 1, guest);
		sqlite3_bind_int64(s, 2, vcpu);
		if (store_step_done(st, s, "storing a lane"))
			return -1;
		id = sqlite3_last_insert_rowid(st->db);
		created = true;
	}
	struct lane_state *ls = store_lane_slot(st, id);
	if (!ls) {
		st->failed = true;
		return -1;
	}
	if (!ls->guest) {
		memset(ls, 0, sizeof(*ls));
		ls->guest = guest;
		ls->last_seq = last;
		ls->created = created;
	}
	return id;
}

/* ---- event types and their views ------------------------------------------------- */

/* Copy (in) to (out) keeping [A-Za-z0-9_], other bytes become '_'. */
static void sanitize(char *out, size_t outlen, const char *in)
{
	size_t n = 0;

	for (; *in && n + 1 < outlen; in++) {
		unsigned char c = (unsigned char)*in;
		bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '_';
		out[n++] = okc ? (char)c : '_';
	}
	out[n] = 0;
}

/* The view column name of each field of (t): sanitized, unique, not one
 * of the fixed columns. */
static void column_names(const ut_evtype_t *t,
			 char cols[UT_MAX_FIELDS][UT_FIELD_NAME_LEN + 8])
{
	static const char *const fixed[] = { "ts",  "guest", "guest_id",
					     "vcpu", "seq",  "dur" };

	for (int i = 0; i < t->nfields && i < (int)UT_MAX_FIELDS; i++) {
		char *c = cols[i];
		sanitize(c, UT_FIELD_NAME_LEN + 1, t->fields[i].name);
		if (!*c || (c[0] >= '0' && c[0] <= '9')) {
			char tmp[UT_FIELD_NAME_LEN + 8];
			snprintf(tmp, sizeof(tmp), "f%d%s%s", i, *c ? "_" : "",
				 c);
			tmp[UT_FIELD_NAME_LEN + 1] = 0;
			memcpy(c, tmp, UT_FIELD_NAME_LEN + 2);
		}
		bool clash = false;
		for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
			clash |= !strcasecmp(c, fixed[k]);
		for (int k = 0; k < i; k++)
			clash |= !strcasecmp(c, cols[k]);
		if (clash) {
			size_t l = strlen(c);
			snprintf(c + l, UT_FIELD_NAME_LEN + 8 - l, "_%d", i);
		}
	}
}

/* Create the ev_<name> view for the first type with (t)'s name and layout;
 * nothing if one exists. */
static int make_view(ut_store_t *st, const ut_evtype_t *t, const char *layout)
{
	char cols[UT_MAX_FIELDS][UT_FIELD_NAME_LEN + 8];
	char view[UT_EVENT_NAME_LEN + 32], base[UT_EVENT_NAME_LEN + 8];
	sqlite3_stmt *s;
	int rc;

	/* Each CREATE VIEW costs SQLite a scan of its whole schema, and every
	 * reader parses all of it at open: a guest declaring 65535 types
	 * would stall the collector for minutes (quadratic) and slow every
	 * later open.  Past UT_STORE_MAX_VIEWS views a type is stored
	 * without one (its events are in `events` all the same); counted first,
	 * so a type past it costs no search of the views either. */
	if (!(s = store_stmt(st, S_VIEW_COUNT)))
		return -1;
	rc = sqlite3_step(s);
	int64_t nviews = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_reset(s);
	if (nviews < 0)
		return store_dberr(st, "counting event views");
	if (nviews >= UT_STORE_MAX_VIEWS)
		return 0;

	if (!(s = store_stmt(st, S_VIEW_FIND)))
		return -1;
	sqlite3_bind_text(s, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, kind_name(t->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, layout, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_dberr(st, "looking up an event view");

	/* a span's begin and end share the name: ev_<name> is the end
	 * (with dur), ev_<name>_begin the begin */
	sanitize(base, sizeof(base) - 6, t->name);
	if (t->kind == UT_KIND_SPAN_BEGIN)
		strcat(base, "_begin");
	snprintf(view, sizeof(view), "ev_%s", base);
	if (!(s = store_stmt(st, S_VIEW_NAME)))
		return -1;
	sqlite3_bind_text(s, 1, view, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		snprintf(view, sizeof(view), "ev_%s_%lld", base,
			 (long long)t->db_id);
	else if (rc != SQLITE_DONE)
		return store_dberr(st, "looking up an event view");

	column_names(t, cols);
	sqlite3_str *q = sqlite3_str_new(st->db);
	sqlite3_str_appendf(q,
			    "CREATE VIEW \"%w\" AS SELECT e.ts AS ts, "
			    "g.name AS guest, l.guest_id AS guest_id, "
			    "l.vcpu AS vcpu, e.seq AS seq, e.dur AS dur",
			    view);
	for (int i = 0; i < t->nfields; i++)
		sqlite3_str_appendf(q, ", e.a%d AS \"%w\"", i, cols[i]);
	sqlite3_str_appendf(q,
			    " FROM events e LEFT JOIN lanes l ON l.id = e.lane"
			    " LEFT JOIN guests g ON g.id = l.guest_id"
			    " WHERE e.type IN (SELECT id FROM event_types"
			    " WHERE name = %Q AND kind = %Q AND layout = %Q)",
			    t->name, kind_name(t->kind), layout);
	char *sql = sqlite3_str_finish(q);
	if (!sql)
		return store_oom(st);
	rc = store_exec(st->db, sql);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return store_dberr(st, "creating an event view");
	if (!(s = store_stmt(st, S_VIEW_INS)))
		return -1;
	sqlite3_bind_text(s, 1, view, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, kind_name(t->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, layout, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, t->db_id);
	return store_step_done(st, s, "recording an event view");
}

int ut_store_evtype(ut_store_t *st, int64_t guest, ut_evtype_t *t)
{
	char layout[UT_MAX_FIELDS * (UT_FIELD_NAME_LEN + 8) + 1];
	size_t n = 0;
	sqlite3_stmt *s;
	int rc;

	if (store_need_txn(st))
		return -1;
	if (t->nfields > UT_MAX_FIELDS || t->kind >= UT_KIND__COUNT) {
		store_seterr(st, "event type %u: bad field count or kind",
			     t->id);
		return -1;
	}
	layout[0] = 0;
	for (int i = 0; i < t->nfields; i++)
		n += (size_t)snprintf(layout + n, sizeof(layout) - n,
				      "%s%s:%s", i ? "," : "",
				      t->fields[i].name,
				      ftype_name(t->fields[i].type));

	if (!(s = store_stmt(st, S_TYPE_FIND)))
		return -1;
	sqlite3_bind_int64(s, 1, guest);
	sqlite3_bind_int64(s, 2, t->id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *nm = (const char *)sqlite3_column_text(s, 1);
		const char *kd = (const char *)sqlite3_column_text(s, 2);
		const char *ly = (const char *)sqlite3_column_text(s, 3);
		bool same = nm && kd && ly && !strcmp(nm, t->name) &&
			    !strcmp(kd, kind_name(t->kind)) &&
			    !strcmp(ly, layout);
		int64_t id = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		if (!same) {
			/* the guest's mistake, not the database's: the
			 * transaction stays usable */
			store_seterr(st,
				     "event type %u ('%s') of guest %lld was "
				     "stored with another name or layout",
				     t->id, t->name, (long long)guest);
			return 1;
		}
		t->db_id = id;
		if (store_grow((void **)&st->types, &st->ntypes,
			       sizeof(*st->types), id) == 0)
			st->types[id].guest = guest;
		return 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_dberr(st, "looking up an event type");

	if (!(s = store_stmt(st, S_TYPE_INS)))
		return -1;
	sqlite3_bind_int64(s, 1, guest);
	sqlite3_bind_int64(s, 2, t->id);
	sqlite3_bind_text(s, 3, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, kind_name(t->kind), -1, SQLITE_STATIC);
	if (t->category[0])
		sqlite3_bind_text(s, 5, t->category, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 5);
	sqlite3_bind_int64(s, 6, t->nfields);
	sqlite3_bind_text(s, 7, layout, -1, SQLITE_STATIC);
	if (store_step_done(st, s, "storing an event type"))
		return -1;
	int64_t id = sqlite3_last_insert_rowid(st->db);

	char cols[UT_MAX_FIELDS][UT_FIELD_NAME_LEN + 8];
	column_names(t, cols);
	for (int i = 0; i < t->nfields; i++) {
		const ut_evfield_t *f = &t->fields[i];
		if (!(s = store_stmt(st, S_FIELD_INS)))
			return -1;
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int(s, 2, i);
		sqlite3_bind_text(s, 3, f->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, ftype_name(f->type), -1,
				  SQLITE_STATIC);
		sqlite3_bind_int(s, 5, f->max_len);
		sqlite3_bind_int(s, 6, (f->flags & UT_FF_HEX) ? 1 : 0);
		sqlite3_bind_text(s, 7, cols[i], -1, SQLITE_STATIC);
		if (store_step_done(st, s, "storing an event field"))
			return -1;
	}
	t->db_id = id;
	if (make_view(st, t, layout))
		return -1;
	if (store_grow((void **)&st->types, &st->ntypes, sizeof(*st->types),
		       id)) {
		store_seterr(st, "event type id %lld out of range",
			     (long long)id);
		st->failed = true;
		return -1;
	}
	st->types[id].guest = guest;
	st->types[id].created = true;
	return 0;
}
