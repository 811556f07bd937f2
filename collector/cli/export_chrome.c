/*
 * unitrace export --format chrome: the Chrome/Perfetto trace event format
 * (the JSON object form), streamed in one pass over the events in time
 * order, in constant memory (docs/export.md has the mapping):
 *
 *   guest        a process: pid = guests.id, metadata process_name
 *   lane (vCPU)  a thread: tid = lanes.vcpu, metadata thread_name "vcpu N"
 *   span         "X" (begin ts, dur, the begin's fields), written when its
 *                end arrives; "B" for a begin without a matched end, "E"
 *                for an end without a duration
 *   instant      "i" with "s":"t";  counter "C";  log "i" with its level
 *   lost range   "i" with "s":"g", name "lost events";  crash the same,
 *                name "crash"
 *
 * Timestamps are microseconds printed from the integer nanoseconds with
 * three decimals (exact).  Field values keep their JSON type; a u64 above
 * 2^53 (not exact as a JSON number in most readers) is a decimal string,
 * a hex field a "0x..." string, bytes a hex string, an infinite f64
 * "Infinity"/"-Infinity", NaN "NaN" (SQLite stores NaN as NULL, so a
 * stored NaN comes back null).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli.h"
#include "export.h"
#include "tracedb.h"
#include "ut_abi.h"

/* ---- the output: a buffered writer that remembers a write error ---------- */

struct out {
	FILE *f;
	int err; /* errno of the first failed write, or 0 */
	size_t n;
	char buf[1 << 16];
};

static void o_flush(struct out *w)
{
	if (w->n && !w->err && fwrite(w->buf, 1, w->n, w->f) != w->n)
		w->err = errno ? errno : EIO;
	w->n = 0;
}

static void o_mem(struct out *w, const void *p, size_t n)
{
	if (w->n + n > sizeof(w->buf))
		o_flush(w);
	if (n > sizeof(w->buf)) {
		if (!w->err && fwrite(p, 1, n, w->f) != n)
			w->err = errno ? errno : EIO;
		return;
	}
	memcpy(w->buf + w->n, p, n);
	w->n += n;
}

static void o_s(struct out *w, const char *s)
{
	o_mem(w, s, strlen(s));
}

static void o_c(struct out *w, char c)
{
	if (w->n == sizeof(w->buf))
		o_flush(w);
	w->buf[w->n++] = c;
}

static void o_u64(struct out *w, uint64_t v)
{
	char t[24];
	int i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	o_mem(w, t + i, sizeof(t) - (size_t)i);
}

static void o_i64(struct out *w, int64_t v)
{
	if (v < 0) {
		o_c(w, '-');
		o_u64(w, (uint64_t)0 - (uint64_t)v);
	} else {
		o_u64(w, (uint64_t)v);
	}
}

/* ns as microseconds with three decimals, exactly. */
static void o_us(struct out *w, int64_t ns)
{
	uint64_t m = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	char t[4] = {'.', (char)('0' + m / 100 % 10), (char)('0' + m / 10 % 10),
		     (char)('0' + m % 10)};

	if (ns < 0)
		o_c(w, '-');
	o_u64(w, m / 1000);
	o_mem(w, t, 4);
}

static void o_hex(struct out *w, const unsigned char *p, int n)
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < n; i++) {
		o_c(w, hx[p[i] >> 4]);
		o_c(w, hx[p[i] & 15]);
	}
}

/* The UTF-8 sequence at (p), of at most (n) bytes: its length if valid
 * (return > 0), else minus the length of its "maximal subpart" (Unicode's
 * recommended practice, as Python and browsers decode): the bytes that
 * one U+FFFD replaces. */
static int utf8_seq(const unsigned char *p, int n)
{
	unsigned char b = p[0];
	int len;
	unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */

	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		len = 2;
	else if (b >= 0xe0 && b <= 0xef)
		len = 3, lo = b == 0xe0 ? 0xa0 : 0x80, hi = b == 0xed ? 0x9f : 0xbf;
	else if (b >= 0xf0 && b <= 0xf4)
		len = 4, lo = b == 0xf0 ? 0x90 : 0x80, hi = b == 0xf4 ? 0x8f : 0xbf;
	else
		return -1;
	for (int i = 1; i < len; i++) {
		if (i >= n || p[i] < lo || p[i] > hi)
			return -i;
		lo = 0x80, hi = 0xbf;
	}
	return len;
}

/* A JSON string of (n) bytes: control characters escaped, each byte that
 * does not start a valid UTF-8 sequence replaced by U+FFFD. */
static void o_str(struct out *w, const unsigned char *v, int n)
{
	static const char hx[] = "0123456789abcdef";
	int run = 0; /* start of the bytes not yet written */

	o_c(w, '"');
	for (int i = 0; i < n;) {
		unsigned char ch = v[i];
		int k;
		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
			i++;
			continue;
		}
		k = ch >= 0x80 ? utf8_seq(v + i, n - i) : 0;
		if (k > 0) {
			i += k;
			continue;
		}
		o_mem(w, v + run, (size_t)(i - run));
		if (ch == '"' || ch == '\\') {
			o_c(w, '\\');
			o_c(w, (char)ch);
		} else if (ch == '\n') {
			o_s(w, "\\n");
		} else if (ch == '\t') {
			o_s(w, "\\t");
		} else if (ch == '\r') {
			o_s(w, "\\r");
		} else if (ut_text_is_ctl(ch)) {
			char e[6] = {'\\', 'u', '0', '0', hx[ch >> 4], hx[ch & 15]};
			o_mem(w, e, 6);
		} else {
			o_s(w, "\\ufffd"); /* not UTF-8: -k bytes */
			i += -k - 1;
		}
		run = ++i;
	}
	o_mem(w, v + run, (size_t)(n - run));
	o_c(w, '"');
}

static void o_cstr(struct out *w, const char *s)
{
	o_str(w, (const unsigned char *)(s ? s : ""), s ? (int)strlen(s) : 0);
}

static void o_col_str(struct out *w, sqlite3_stmt *s, int c)
{
	if (sqlite3_column_type(s, c) == SQLITE_NULL) {
		o_s(w, "null");
		return;
	}
	const unsigned char *v = sqlite3_column_text(s, c);
	o_str(w, v, sqlite3_column_bytes(s, c));
}

static void o_f64(struct out *w, double d)
{
	char t[40];

	if (isnan(d)) {
		o_s(w, "\"NaN\"");
	} else if (isinf(d)) {
		o_s(w, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	} else {
		int n = snprintf(t, sizeof(t), "%.17g", d);
		o_mem(w, t, (size_t)n);
		/* "1e+300" and "-0" are JSON numbers; no bare "inf"/"nan" here */
	}
}

/* ---- what the database describes ----------------------------------------- */

enum ftype { F_UINT, F_U64, F_SINT, F_F64, F_STR, F_BYTES };

struct field {
	char *name;
	enum ftype type;
	bool hex;
};

struct etype {
	int64_t id;
	char *name, *cat;
	int kind;
	int nf;
	struct field f[UT_MAX_FIELDS];
};

struct begin {
	int64_t ts, row;
	const struct etype *t;
};

struct lane {
	int64_t guest, vcpu;
	bool used;
	struct begin *stack;
	size_t depth, cap;
};

/* Open spans kept per lane; deeper ones are written as "B" at once. */
#define MAX_DEPTH 1024

struct ch {
	sqlite3 *db;
	const ut_export_opts_t *o;
	struct out *w;
	struct etype **types; /* by event_types.id */
	int64_t ntypes;
	struct lane *lanes; /* by lanes.id */
	int64_t nlanes;
	sqlite3_stmt *fetch; /* a begin's fields by row id */
	uint64_t written;
	bool first;
};

static enum ftype parse_ftype(const char *t)
{
	if (!t)
		return F_STR;
	if (!strcmp(t, "u64"))
		return F_U64;
	if (t[0] == 'u')
		return F_UINT;
	if (t[0] == 's')
		return F_SINT;
	if (!strcmp(t, "f64"))
		return F_F64;
	if (!strcmp(t, "bytes"))
		return F_BYTES;
	return F_STR;
}

static char *dup_col(sqlite3_stmt *s, int c)
{
	const char *v = (const char *)sqlite3_column_text(s, c);

	return v ? strdup(v) : NULL;
}

static int db_fail(struct ch *C)
{
	if (ut_export_interrupted())
		return -1; /* said once, by ut_export_chrome */
	ut_error(C->o->cmd, "%s: %s", C->o->db_path, sqlite3_errmsg(C->db));
	return -1;
}

static int load_types(struct ch *C)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(C->db, "SELECT max(id) FROM event_types", -1,
			       &s, NULL) != SQLITE_OK)
		return db_fail(C);
	if (sqlite3_step(s) == SQLITE_ROW)
		C->ntypes = sqlite3_column_int64(s, 0) + 1;
	sqlite3_finalize(s);
	if (C->ntypes < 1 || C->ntypes > 100000000)
		C->ntypes = 1;
	C->types = calloc((size_t)C->ntypes, sizeof(*C->types));
	if (!C->types)
		return -1;
	if (sqlite3_prepare_v2(C->db,
			       "SELECT id, name, kind, category FROM event_types",
			       -1, &s, NULL) != SQLITE_OK)
		return db_fail(C);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		if (id < 0 || id >= C->ntypes || C->types[id])
			continue;
		struct etype *t = calloc(1, sizeof(*t));
		if (!t)
			break;
		C->types[id] = t;
		t->id = id;
		t->name = dup_col(s, 1);
		const char *k = (const char *)sqlite3_column_text(s, 2);
		t->kind = k ? ut_kind_parse(k) : -1;
		t->cat = dup_col(s, 3);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_fail(C);
	if (sqlite3_prepare_v2(C->db,
			       "SELECT type_id, idx, name, type, hex FROM "
			       "event_fields ORDER BY type_id, idx",
			       -1, &s, NULL) != SQLITE_OK)
		return db_fail(C);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		int idx = sqlite3_column_int(s, 1);
		if (id < 0 || id >= C->ntypes || !C->types[id] || idx < 0 ||
		    idx >= (int)UT_MAX_FIELDS)
			continue;
		struct etype *t = C->types[id];
		struct field *f = &t->f[idx];
		free(f->name);
		f->name = dup_col(s, 2);
		f->type = parse_ftype((const char *)sqlite3_column_text(s, 3));
		f->hex = sqlite3_column_int(s, 4) != 0;
		if (idx + 1 > t->nf)
			t->nf = idx + 1;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_fail(C);
}

static int load_lanes(struct ch *C)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(C->db, "SELECT max(id) FROM lanes", -1, &s,
			       NULL) != SQLITE_OK)
		return db_fail(C);
	if (sqlite3_step(s) == SQLITE_ROW)
		C->nlanes = sqlite3_column_int64(s, 0) + 1;
	sqlite3_finalize(s);
	if (C->nlanes < 1 || C->nlanes > 100000000)
		C->nlanes = 1;
	C->lanes = calloc((size_t)C->nlanes, sizeof(*C->lanes));
	if (!C->lanes)
		return -1;
	if (sqlite3_prepare_v2(C->db, "SELECT id, guest_id, vcpu FROM lanes",
			       -1, &s, NULL) != SQLITE_OK)
		return db_fail(C);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		if (id < 0 || id >= C->nlanes)
			continue;
		C->lanes[id].guest = sqlite3_column_int64(s, 1);
		C->lanes[id].vcpu = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_fail(C);
}

static void free_all(struct ch *C)
{
	for (int64_t i = 0; C->types && i < C->ntypes; i++) {
		struct etype *t = C->types[i];
		if (!t)
			continue;
		for (int k = 0; k < (int)UT_MAX_FIELDS; k++)
			free(t->f[k].name);
		free(t->name);
		free(t->cat);
		free(t);
	}
	free(C->types);
	for (int64_t i = 0; C->lanes && i < C->nlanes; i++)
		free(C->lanes[i].stack);
	free(C->lanes);
	sqlite3_finalize(C->fetch);
}

/* ---- events ---------------------------------------------------------------- */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* One field value, column (c) of (s), as its JSON type.  A counter's
 * integers are always JSON numbers (a series is plotted from numbers): a
 * hex field in decimal, a u64 above 2^53 with its exact digits, which a
 * reader may round. */
static void o_value(struct out *w, const struct field *f, sqlite3_stmt *s,
		    int c, bool counter)
{
	int ty = sqlite3_column_type(s, c);

	if (ty == SQLITE_NULL) {
		o_s(w, "null");
		return;
	}
	switch (f->type) {
	case F_UINT:
	case F_U64:
	case F_SINT: {
		if (ty != SQLITE_INTEGER)
			break;
		int64_t v = sqlite3_column_int64(s, c);
		if (counter && f->type != F_SINT) {
			o_u64(w, f->type == F_U64 ? (uint64_t)v
						  : (uint64_t)v & 0xffffffffu);
		} else if (counter) {
			o_i64(w, v);
		} else if (f->hex) {
			char t[24];
			uint64_t u = (uint64_t)v;
			if (f->type == F_UINT)
				u &= 0xffffffffu;
			int n = snprintf(t, sizeof(t), "\"0x%" PRIx64 "\"", u);
			o_mem(w, t, (size_t)n);
		} else if (f->type == F_U64 &&
			   (uint64_t)v > ((uint64_t)1 << 53)) {
			o_c(w, '"');
			o_u64(w, (uint64_t)v);
			o_c(w, '"');
		} else {
			o_i64(w, v);
		}
		return;
	}
	case F_F64:
		if (ty == SQLITE_FLOAT || ty == SQLITE_INTEGER) {
			o_f64(w, sqlite3_column_double(s, c));
			return;
		}
		break;
	case F_BYTES:
		if (ty == SQLITE_BLOB) {
			o_c(w, '"');
			o_hex(w, sqlite3_column_blob(s, c),
			      sqlite3_column_bytes(s, c));
			o_c(w, '"');
			return;
		}
		break;
	case F_STR:
		break;
	}
	/* a string, or a value whose storage does not match its type */
	if (ty == SQLITE_INTEGER)
		o_i64(w, sqlite3_column_int64(s, c));
	else if (ty == SQLITE_FLOAT)
		o_f64(w, sqlite3_column_double(s, c));
	else if (ty == SQLITE_BLOB) {
		o_c(w, '"');
		o_hex(w, sqlite3_column_blob(s, c), sqlite3_column_bytes(s, c));
		o_c(w, '"');
	} else
		o_col_str(w, s, c);
}

/* "args":{...} of type (t) with its fields in columns a0.. of (s). */
static void o_args(struct out *w, const struct etype *t, sqlite3_stmt *s,
		   int a0)
{
	o_s(w, ",\"args\":{");
	for (int i = 0; t && s && i < t->nf; i++) {
		if (i)
			o_c(w, ',');
		o_cstr(w, t->f[i].name ? t->f[i].name : "");
		o_c(w, ':');
		o_value(w, &t->f[i], s, a0 + i, t->kind == UT_KIND_COUNTER);
	}
	if (t && s && t->kind == UT_KIND_LOG && t->nf > 0 &&
	    sqlite3_column_type(s, a0) == SQLITE_INTEGER) {
		int64_t lv = sqlite3_column_int64(s, a0);
		if (lv >= 0 && lv < 4) {
			o_s(w, ",\"level_name\":\"");
			o_s(w, level_names[lv]);
			o_c(w, '"');
		}
	}
	o_c(w, '}');
}

/* The start of one trace event, up to and including "tid". */
static void o_head(struct ch *C, const char *ph, const struct etype *t,
		   const char *name, const char *cat, int64_t ts, int64_t pid,
		   int64_t tid)
{
	struct out *w = C->w;

	o_s(w, C->first ? "\n{\"name\":" : ",\n{\"name\":");
	C->first = false;
	o_cstr(w, t ? t->name : name);
	o_s(w, ",\"cat\":");
	if (t && !t->cat)
		cat = t->kind == UT_KIND_SPAN_BEGIN || t->kind == UT_KIND_SPAN_END
			      ? "span"
			      : ut_kind_name(t->kind);
	o_cstr(w, t && t->cat ? t->cat : cat ? cat : "unknown");
	o_s(w, ",\"ph\":\"");
	o_s(w, ph);
	o_s(w, "\",\"ts\":");
	o_us(w, ts);
	o_s(w, ",\"pid\":");
	o_i64(w, pid);
	o_s(w, ",\"tid\":");
	o_i64(w, tid);
	C->written++;
}

/* A begin's fields: its row fetched again by id.  The statement is reset by
 * the caller; NULL if the row cannot be read. */
static sqlite3_stmt *fetch_begin(struct ch *C, int64_t row)
{
	sqlite3_reset(C->fetch);
	sqlite3_bind_int64(C->fetch, 1, row);
	return sqlite3_step(C->fetch) == SQLITE_ROW ? C->fetch : NULL;
}

/* A begin without a matched end: "B". */
static void o_begin(struct ch *C, const struct lane *l, const struct begin *b)
{
	o_head(C, "B", b->t, NULL, NULL, b->ts, l->guest, l->vcpu);
	o_args(C->w, b->t, fetch_begin(C, b->row), 0);
	o_c(C->w, '}');
	sqlite3_reset(C->fetch);
}

static bool same_name(const struct etype *a, const struct etype *b)
{
	return a && b && a->name && b->name && !strcmp(a->name, b->name);
}

/* Columns of the events cursor. */
enum { E_ID, E_TS, E_LANE, E_TYPE, E_DUR, E_A0 };

static int one_event(struct ch *C, sqlite3_stmt *s)
{
	int64_t ts = sqlite3_column_int64(s, E_TS);
	int64_t lid = sqlite3_column_int64(s, E_LANE);
	int64_t tid = sqlite3_column_int64(s, E_TYPE);
	const struct etype *t =
		tid >= 0 && tid < C->ntypes ? C->types[tid] : NULL;
	struct lane *l = lid >= 0 && lid < C->nlanes ? &C->lanes[lid] : NULL;
	struct lane none = {0};
	struct out *w = C->w;

	if (!l)
		l = &none;
	int kind = t ? t->kind : UT_KIND_INSTANT;
	switch (kind) {
	case UT_KIND_SPAN_BEGIN:
		if (l == &none) {
			o_head(C, "B", t, NULL, NULL, ts, 0, 0);
			o_args(w, t, s, E_A0);
			o_c(w, '}');
			return 0;
		}
		if (l->depth == MAX_DEPTH) {
			o_begin(C, l, &l->stack[0]);
			memmove(l->stack, l->stack + 1,
				(l->depth - 1) * sizeof(*l->stack));
			l->depth--;
		}
		if (l->depth == l->cap) {
			size_t nc = l->cap ? l->cap * 2 : 8;
			struct begin *nb = realloc(l->stack, nc * sizeof(*nb));
			if (!nb) {
				ut_error(C->o->cmd, "out of memory");
				return -1;
			}
			l->stack = nb;
			l->cap = nc;
		}
		l->stack[l->depth++] = (struct begin){
			ts, sqlite3_column_int64(s, E_ID), t};
		return 0;
	case UT_KIND_SPAN_END: {
		bool has_dur = sqlite3_column_type(s, E_DUR) != SQLITE_NULL;
		int64_t dur = sqlite3_column_int64(s, E_DUR);
		size_t i = l->depth;
		if (has_dur) {
			while (i > 0 && !(l->stack[i - 1].ts == ts - dur &&
					  same_name(l->stack[i - 1].t, t)))
				i--;
		} else if (i > 0 && same_name(l->stack[i - 1].t, t)) {
			/* the matching begin, without a duration: B then E */
			l->depth--;
			o_begin(C, l, &l->stack[l->depth]);
			i = 0;
		} else {
			i = 0;
		}
		if (!has_dur) {
			o_head(C, "E", t, NULL, NULL, ts, l->guest, l->vcpu);
			o_c(w, '}');
			return 0;
		}
		if (i == 0) {
			/* its begin is not exported (before --from) */
			o_head(C, "X", t, NULL, NULL, ts - dur, l->guest,
			       l->vcpu);
			o_s(w, ",\"dur\":");
			o_us(w, dur);
			o_s(w, ",\"args\":{}}");
			return 0;
		}
		/* begins opened after the matched one never ended */
		while (l->depth > i) {
			l->depth--;
			o_begin(C, l, &l->stack[l->depth]);
		}
		struct begin b = l->stack[--l->depth];
		o_head(C, "X", b.t, NULL, NULL, b.ts, l->guest, l->vcpu);
		o_s(w, ",\"dur\":");
		o_us(w, dur);
		o_args(w, b.t, fetch_begin(C, b.row), 0);
		o_c(w, '}');
		sqlite3_reset(C->fetch);
		return 0;
	}
	case UT_KIND_COUNTER:
		o_head(C, "C", t, NULL, NULL, ts, l->guest, l->vcpu);
		o_args(w, t, s, E_A0);
		o_c(w, '}');
		return 0;
	default: /* instant, log, and kinds this build does not know */
		o_head(C, "i", t, t ? NULL : "unknown", "unknown", ts, l->guest,
		       l->vcpu);
		o_s(w, ",\"s\":\"t\"");
		o_args(w, t, s, E_A0);
		o_c(w, '}');
		return 0;
	}
}

/* ---- metadata and markers ------------------------------------------------------ */

static bool in_window(const ut_export_opts_t *o, int64_t ts)
{
	return !(o->has_from && ts < o->from_ns) && !(o->has_to && ts > o->to_ns);
}

static int o_metadata(struct ch *C, const char *gsql)
{
	struct out *w = C->w;
	sqlite3_stmt *s;
	int rc;
	char *sql = sqlite3_mprintf(
		"SELECT g.id, g.name, g.platform, g.status, g.pid FROM guests g, "
		"(SELECT id AS guest_id FROM guests) l WHERE l.guest_id = g.id%s "
		"ORDER BY g.id",
		gsql);

	if (ut_export_prepare(C->db, sql, &s) != SQLITE_OK)
		return db_fail(C);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		o_s(w, C->first ? "\n" : ",\n");
		C->first = false;
		o_s(w, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":");
		o_i64(w, id);
		o_s(w, ",\"tid\":0,\"args\":{\"name\":");
		o_col_str(w, s, 1);
		o_s(w, "}},\n{\"name\":\"process_labels\",\"ph\":\"M\",\"pid\":");
		o_i64(w, id);
		o_s(w, ",\"tid\":0,\"args\":{\"labels\":\"");
		/* platform and status are collector words: plain ASCII */
		const char *p = (const char *)sqlite3_column_text(s, 2);
		const char *st = (const char *)sqlite3_column_text(s, 3);
		for (const char *q = p ? p : ""; *q; q++)
			if (*q >= 'a' && *q <= 'z')
				o_c(w, *q);
		o_c(w, ',');
		for (const char *q = st ? st : ""; *q; q++)
			if (*q >= 'a' && *q <= 'z')
				o_c(w, *q);
		o_s(w, "\"}},\n{\"name\":\"process_sort_index\",\"ph\":\"M\","
		       "\"pid\":");
		o_i64(w, id);
		o_s(w, ",\"tid\":0,\"args\":{\"sort_index\":");
		o_i64(w, id);
		o_s(w, "}}");
		for (int64_t i = 0; i < C->nlanes; i++) {
			struct lane *l = &C->lanes[i];
			if (l->guest != id || !i)
				continue;
			o_s(w, ",\n{\"name\":\"thread_name\",\"ph\":\"M\","
			       "\"pid\":");
			o_i64(w, id);
			o_s(w, ",\"tid\":");
			o_i64(w, l->vcpu);
			o_s(w, ",\"args\":{\"name\":\"vcpu ");
			o_i64(w, l->vcpu);
			o_s(w, "\"}},\n{\"name\":\"thread_sort_index\","
			       "\"ph\":\"M\",\"pid\":");
			o_i64(w, id);
			o_s(w, ",\"tid\":");
			o_i64(w, l->vcpu);
			o_s(w, ",\"args\":{\"sort_index\":");
			o_i64(w, l->vcpu);
			o_s(w, "}}");
		}
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_fail(C);
}

static int o_lost(struct ch *C, const char *gsql)
{
	struct out *w = C->w;
	sqlite3_stmt *s;
	int rc;
	char *sql = sqlite3_mprintf(
		"SELECT l.guest_id, l.vcpu, x.seq_first, x.count, x.reason, "
		"x.ts_before, x.ts_after, coalesce(x.ts_before, x.ts_after, "
		"g.first_ts, 0) FROM lost x JOIN lanes l ON l.id = x.lane "
		"JOIN guests g ON g.id = l.guest_id WHERE 1%s ORDER BY 8, x.id",
		gsql);

	if (ut_export_prepare(C->db, sql, &s) != SQLITE_OK)
		return db_fail(C);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t ts = sqlite3_column_int64(s, 7);
		if (!in_window(C->o, ts))
			continue;
		o_head(C, "i", NULL, "lost events", "unitrace", ts,
		       sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1));
		o_s(w, ",\"s\":\"g\",\"args\":{\"reason\":");
		o_col_str(w, s, 4);
		o_s(w, ",\"count\":");
		o_i64(w, sqlite3_column_int64(s, 3));
		o_s(w, ",\"seq_first\":");
		o_i64(w, sqlite3_column_int64(s, 2));
		o_s(w, ",\"vcpu\":");
		o_i64(w, sqlite3_column_int64(s, 1));
		o_s(w, ",\"ts_before\":");
		if (sqlite3_column_type(s, 5) == SQLITE_NULL)
			o_s(w, "null");
		else
			o_i64(w, sqlite3_column_int64(s, 5));
		o_s(w, ",\"ts_after\":");
		if (sqlite3_column_type(s, 6) == SQLITE_NULL)
			o_s(w, "null");
		else
			o_i64(w, sqlite3_column_int64(s, 6));
		o_s(w, "}}");
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_fail(C);
}

static int o_crashes(struct ch *C, const char *gsql)
{
	struct out *w = C->w;
	sqlite3_stmt *s;
	int rc;
	int has_kind = ut_tracedb_has_column(C->db, "crashes", "kind") == 1;
	char *sql = sqlite3_mprintf(
		"SELECT c.id, c.guest_id, coalesce(c.ts, g.last_ts, 0), c.reason, "
		"c.signal, c.fault_addr, %s, %s, c.ts IS NOT NULL FROM crashes c "
		"JOIN guests g ON g.id = c.guest_id JOIN (SELECT id AS guest_id "
		"FROM guests) l ON l.guest_id = c.guest_id WHERE 1%s "
		"ORDER BY 3, c.id",
		has_kind ? "c.kind" : "NULL", has_kind ? "c.vcpu" : "NULL", gsql);

	if (ut_export_prepare(C->db, sql, &s) != SQLITE_OK)
		return db_fail(C);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t ts = sqlite3_column_int64(s, 2);
		if (!in_window(C->o, ts))
			continue;
		int64_t vcpu = sqlite3_column_type(s, 7) == SQLITE_INTEGER
				       ? sqlite3_column_int64(s, 7)
				       : 0;
		o_head(C, "i", NULL, "crash", "unitrace", ts,
		       sqlite3_column_int64(s, 1), vcpu);
		o_s(w, ",\"s\":\"g\",\"args\":{\"reason\":");
		o_col_str(w, s, 3);
		o_s(w, ",\"count\":1,\"crash_id\":");
		o_i64(w, sqlite3_column_int64(s, 0));
		o_s(w, ",\"kind\":");
		o_col_str(w, s, 6);
		o_s(w, ",\"signal\":");
		o_i64(w, sqlite3_column_int64(s, 4));
		char t[32];
		snprintf(t, sizeof(t), "0x%" PRIx64,
			 (uint64_t)sqlite3_column_int64(s, 5));
		o_s(w, ",\"fault_addr\":\"");
		o_s(w, t);
		o_s(w, "\",\"ts_known\":");
		o_s(w, sqlite3_column_int(s, 8) ? "true" : "false");
		o_s(w, "}}");
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_fail(C);
}

/* ---- the export ---------------------------------------------------------------- */

static int write_all(struct ch *C, const char *filter, const char *gsql)
{
	struct out *w = C->w;
	sqlite3_stmt *s = NULL;
	ut_export_progress_t p;
	int rc;
	int64_t total = ut_export_count(C->db, filter);
	char *sql;

	if (total < 0) {
		if (ut_export_interrupted())
			return -1;
		return db_fail(C);
	}
	if (sqlite3_prepare_v2(C->db,
			       "SELECT a0, a1, a2, a3, a4, a5, a6, a7 FROM "
			       "events WHERE id = ?1",
			       -1, &C->fetch, NULL) != SQLITE_OK)
		return db_fail(C);
	o_s(w, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"exporter\":"
	       "\"unitrace export 0.1.0\",\"database\":");
	o_cstr(w, C->o->db_path);
	o_s(w, ",\"ts\":\"microseconds on the guest monotonic clock "
	       "(events.ts / 1000)\"},\"traceEvents\":[");
	C->first = true;
	if (o_metadata(C, gsql))
		return -1;
	sql = sqlite3_mprintf("SELECT e.id, e.ts, e.lane, e.type, e.dur, e.a0, "
			      "e.a1, e.a2, e.a3, e.a4, e.a5, e.a6, e.a7 FROM "
			      "events e JOIN lanes l ON l.id = e.lane WHERE 1%s "
			      "ORDER BY e.ts, e.lane, e.seq",
			      filter);
	if (ut_export_prepare(C->db, sql, &s) != SQLITE_OK)
		return db_fail(C);
	ut_export_progress_start(&p, (uint64_t)total, C->o->quiet);
	uint64_t done = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (ut_export_interrupted() || one_event(C, s)) {
			rc = SQLITE_INTERRUPT;
			break;
		}
		if (w->err)
			break;
		ut_export_progress(&p, ++done);
	}
	sqlite3_finalize(s);
	if (ut_export_interrupted())
		return -1;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		if (rc == SQLITE_INTERRUPT)
			return -1;
		return db_fail(C);
	}
	/* spans still open at the end of the export */
	for (int64_t i = 0; i < C->nlanes; i++) {
		struct lane *l = &C->lanes[i];
		for (size_t k = 0; k < l->depth; k++)
			o_begin(C, l, &l->stack[k]);
		l->depth = 0;
	}
	if (o_lost(C, gsql) || o_crashes(C, gsql))
		return -1;
	o_s(w, "\n]}\n");
	ut_export_progress_end(&p, done);
	return 0;
}

int ut_export_chrome(sqlite3 *db, const ut_export_opts_t *o)
{
	char filter[8192], gsql[4096], tmp[4096];
	struct ch C = {.db = db, .o = o};
	struct stat st;
	int fd, rc = 1;

	if (ut_export_filter_sql(db, o, filter, sizeof(filter)) ||
	    ut_export_guest_sql(db, o, gsql, sizeof(gsql)))
		return 1;
	if (!stat(o->out, &st) && S_ISDIR(st.st_mode)) {
		ut_error(o->cmd, "%s is a directory (--format chrome writes a "
				 "file)", o->out);
		return 1;
	}
	if (ut_export_tmp_path(o->out, tmp, sizeof(tmp))) {
		ut_error(o->cmd, "%s: output path too long", o->out);
		return 1;
	}
	unlink(tmp); /* a leftover of an earlier process with our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0666);
	if (fd < 0) {
		ut_error(o->cmd, "cannot write %s: %s", o->out, strerror(errno));
		return 1;
	}
	struct out *w = calloc(1, sizeof(*w));
	FILE *f = w ? fdopen(fd, "w") : NULL;
	if (!f) {
		ut_error(o->cmd, "out of memory");
		close(fd);
		free(w);
		ut_export_abort(tmp);
		return 1;
	}
	w->f = f;
	C.w = w;
	if (load_types(&C) || load_lanes(&C))
		goto done;
	if (write_all(&C, filter, gsql))
		goto done;
	o_flush(w);
	if (!w->err && fflush(f))
		w->err = errno;
	if (!w->err && fsync(fileno(f)))
		w->err = errno;
	if (w->err) {
		ut_error(o->cmd, "cannot write %s: %s", o->out,
			 strerror(w->err));
		goto done;
	}
	if (fclose(f)) {
		f = NULL;
		ut_error(o->cmd, "cannot write %s: %s", o->out, strerror(errno));
		goto done;
	}
	f = NULL;
	if (ut_export_commit(tmp, o->out)) {
		ut_error(o->cmd, "cannot rename %s to %s: %s", tmp, o->out,
			 strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (f)
		fclose(f);
	if (rc) {
		ut_export_abort(tmp);
		int sig = ut_export_interrupted();
		if (sig)
			ut_error(o->cmd, "interrupted by signal %d; %s not "
					 "written", sig, o->out);
	}
	free_all(&C);
	free(w);
	return rc;
}
