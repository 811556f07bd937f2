/*
 * unitrace export --format ctf: a CTF 1.8 trace directory.
 *
 *   DIR/metadata              TSDL text, starting with the CTF 1.8 signature
 *   DIR/g<ID>-<name>-vcpu<N>  one data stream file per lane (guest vCPU)
 *
 * The metadata declares one clock class per guest (1 GHz: the stored
 * timestamps are ns, so a clock value is exactly events.ts; offset: the
 * guest's wall-clock reference start_realtime - clock_ns_ref), one stream
 * class per guest whose event classes are the guest's stored event types
 * (id = event_types.id) plus "unitrace:crash", and one stream per lane.
 * Every integer is byte aligned and little-endian, so the writer packs
 * fields without padding.  Packets hold up to about PKT_TARGET bytes; a
 * lost-event range closes the packet before the gap, and the next packet's
 * events_discarded (cumulative per stream, as CTF wants) carries the count,
 * so babeltrace2 reports it as a discarded-events message at the gap.
 *
 * Memory is bounded: the lanes are written one after the other, each from
 * one SQL cursor in time order with its lost ranges and crashes merged in,
 * into one packet buffer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "export.h"
#include "tracedb.h"

#define PKT_TARGET (256 * 1024) /* close a packet once it holds this much */
#define CTF_MAGIC 0xc1fc1fc1u
#define HDR_SIZE 32  /* magic, uuid[16], stream_id, stream_instance_id */
#define CTX_SIZE 52  /* 6 x u64 + cpu_id u32 */
#define MAX_FIELDS 8

enum ftype { F_U8, F_U16, F_U32, F_U64, F_S8, F_S16, F_S32, F_S64, F_F64,
	     F_STR, F_BYTES, F_BAD };

struct cfield {
	enum ftype type;
	bool hex, level; /* level: the log event's level, as an enum */
	char id[80];     /* TSDL identifier ("_" + column name) */
	char len_id[96]; /* bytes: the length field's identifier */
};

struct ctype {
	int64_t id, guest;
	char name[160];
	char kind[16];
	int nf;
	bool dur; /* span_end: a "dur" field from events.dur */
	char dur_id[80];
	struct cfield f[MAX_FIELDS];
};

struct cguest {
	int64_t id;
	char name[128];
	char platform[32];
	char build_id[130];
	bool has_rt;
	int64_t realtime, ref;
	bool used;        /* has at least one stream file */
	uint32_t crash_id; /* event class id of unitrace:crash */
};

struct clane {
	int64_t id, guest, vcpu;
	size_t gi;
};

struct ctf {
	sqlite3 *db;
	const ut_export_opts_t *o;
	char tmp[4096];
	char filter[8192], gsql[4096];
	uint8_t uuid[16];
	char uuid_s[40];
	struct cguest *g;
	size_t ng;
	struct ctype *t; /* sorted by id */
	size_t nt;
	struct clane *l;
	size_t nl;
	bool crash_cols; /* crashes has kind, code, vcpu */
	bool has_crashes;
	/* the packet being built */
	uint8_t *buf;
	size_t len, cap;
	uint64_t pkt_begin, pkt_end, pkt_seq, discarded;
	size_t pkt_events;
	bool pkt_open;
	FILE *f;
	int err;
	uint64_t done;
	ut_export_progress_t prog;
};

/* ---- small helpers --------------------------------------------------------- */

static void col_text(char *dst, size_t cap, sqlite3_stmt *s, int col)
{
	const char *v = (const char *)sqlite3_column_text(s, col);

	snprintf(dst, cap, "%s", v ? v : "");
}

/* A TSDL string literal's contents: quotes and backslashes escaped,
 * control characters as '?'. */
static void tsdl_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fputc('\\', f);
		fputc(ut_text_is_ctl(c) ? '?' : c, f);
	}
}

/* A TSDL identifier from (name): '_' + name with characters outside
 * [A-Za-z0-9_] replaced by '_'.  babeltrace2 and Trace Compass drop one
 * leading underscore of a field name, which shows the name as stored and
 * keeps TSDL keywords ("event", "string", "align") usable. */
static void ident(char *dst, size_t cap, const char *name, int idx)
{
	size_t n = 0;

	if (cap < 2)
		return;
	dst[n++] = '_';
	if (!*name)
		n += (size_t)snprintf(dst + n, cap - n, "f%d", idx);
	for (; *name && n + 1 < cap; name++) {
		char c = *name;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_';
		dst[n++] = ok ? c : '_';
	}
	dst[n < cap ? n : cap - 1] = 0;
}

static bool id_taken(const struct ctype *t, const char *id)
{
	for (int i = 0; i < t->nf; i++)
		if (!strcmp(t->f[i].id, id) || !strcmp(t->f[i].len_id, id))
			return true;
	return t->dur && !strcmp(t->dur_id, id);
}

/* Make (id) unique among the identifiers of (t) so far. */
static void uniq(const struct ctype *t, char *id, size_t cap, int idx)
{
	size_t n = strlen(id);

	for (int k = 0; id_taken(t, id) && k < 100; k++)
		snprintf(id + n, cap - n, "_%d%s", idx, k ? "x" : "");
}

static enum ftype parse_ftype(const char *s)
{
	static const char *const names[] = {"u8", "u16", "u32", "u64", "s8",
					    "s16", "s32", "s64", "f64", "str",
					    "bytes"};
	for (int i = 0; i < F_BAD; i++)
		if (!strcmp(s, names[i]))
			return (enum ftype)i;
	return F_BAD;
}

static int int_bits(enum ftype t)
{
	switch (t) {
	case F_U8: case F_S8: return 8;
	case F_U16: case F_S16: return 16;
	case F_U32: case F_S32: return 32;
	default: return 64;
	}
}

static bool int_signed(enum ftype t)
{
	return t >= F_S8 && t <= F_S64;
}

static int cmp_type(const void *a, const void *b)
{
	int64_t x = ((const struct ctype *)a)->id,
		y = ((const struct ctype *)b)->id;
	return (x > y) - (x < y);
}

static struct ctype *find_type(struct ctf *C, int64_t id)
{
	struct ctype key = {.id = id};

	return C->nt ? bsearch(&key, C->t, C->nt, sizeof(*C->t), cmp_type)
		     : NULL;
}

static int db_fail(struct ctf *C)
{
	ut_error(C->o->cmd, "%s: %s", C->o->db_path, sqlite3_errmsg(C->db));
	return -1;
}

/* ---- loading the schema ------------------------------------------------------ */

/* The end of a loading loop that stopped with (rc): finalize (s); 0 when
 * every row was read, else -1 with the reason said (a loop left with a row
 * in hand ran out of memory). */
static int load_end(struct ctf *C, sqlite3_stmt *s, int rc)
{
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_ROW)
		ut_error(C->o->cmd, "out of memory");
	else
		db_fail(C);
	return -1;
}

static int load_guests(struct ctf *C)
{
	sqlite3_stmt *s;
	char *sql = sqlite3_mprintf(
		"SELECT g.id, g.name, g.platform, g.build_id, g.start_realtime, "
		"g.clock_ns_ref FROM guests g WHERE g.id IN (SELECT l.guest_id "
		"FROM lanes l WHERE 1%s) ORDER BY g.id",
		C->gsql);
	int rc;

	if (ut_export_prepare(C->db, sql, &s) != SQLITE_OK)
		return db_fail(C);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cguest *g = realloc(C->g, (C->ng + 1) * sizeof(*g));
		if (!g)
			break;
		C->g = g;
		g = &C->g[C->ng++];
		memset(g, 0, sizeof(*g));
		g->id = sqlite3_column_int64(s, 0);
		col_text(g->name, sizeof(g->name), s, 1);
		col_text(g->platform, sizeof(g->platform), s, 2);
		col_text(g->build_id, sizeof(g->build_id), s, 3);
		g->has_rt = sqlite3_column_type(s, 4) != SQLITE_NULL &&
			    sqlite3_column_type(s, 5) != SQLITE_NULL;
		g->realtime = sqlite3_column_int64(s, 4);
		g->ref = sqlite3_column_int64(s, 5);
	}
	if (load_end(C, s, rc))
		return -1;
	return 0;
}

static struct cguest *find_guest(struct ctf *C, int64_t id, size_t *gi)
{
	for (size_t i = 0; i < C->ng; i++)
		if (C->g[i].id == id) {
			if (gi)
				*gi = i;
			return &C->g[i];
		}
	return NULL;
}

static int load_types(struct ctf *C)
{
	sqlite3_stmt *s, *fs;
	int rc;

	if (sqlite3_prepare_v2(C->db,
			       "SELECT id, guest_id, name, kind FROM event_types "
			       "ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK)
		return db_fail(C);
	if (sqlite3_prepare_v2(C->db,
			       "SELECT idx, name, type, hex, col FROM event_fields "
			       "WHERE type_id = ?1 ORDER BY idx",
			       -1, &fs, NULL) != SQLITE_OK) {
		sqlite3_finalize(s);
		return db_fail(C);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t guest = sqlite3_column_int64(s, 1);
		if (!find_guest(C, guest, NULL))
			continue;
		struct ctype *t = realloc(C->t, (C->nt + 1) * sizeof(*t));
		if (!t)
			break;
		C->t = t;
		t = &C->t[C->nt++];
		memset(t, 0, sizeof(*t));
		t->id = sqlite3_column_int64(s, 0);
		t->guest = guest;
		col_text(t->name, sizeof(t->name), s, 2);
		col_text(t->kind, sizeof(t->kind), s, 3);
		sqlite3_reset(fs);
		sqlite3_bind_int64(fs, 1, t->id);
		int frc;
		while ((frc = sqlite3_step(fs)) == SQLITE_ROW) {
			int idx = sqlite3_column_int(fs, 0);
			char name[80], col[80], type[16];
			if (idx != t->nf || t->nf >= MAX_FIELDS)
				break; /* a hole or too many: stop there */
			col_text(name, sizeof(name), fs, 1);
			col_text(type, sizeof(type), fs, 2);
			col_text(col, sizeof(col), fs, 4);
			struct cfield *f = &t->f[t->nf];
			f->type = parse_ftype(type);
			if (f->type == F_BAD) {
				ut_error(C->o->cmd,
					 "%s: event type %" PRId64
					 " has a field of unknown type '%s'",
					 C->o->db_path, t->id, type);
				sqlite3_finalize(fs);
				sqlite3_finalize(s);
				return -1;
			}
			f->hex = sqlite3_column_int(fs, 3) != 0;
			f->level = !strcmp(t->kind, "log") &&
				   !strcmp(name, "level") && f->type <= F_S64;
			ident(f->id, sizeof(f->id), *col ? col : name, idx);
			uniq(t, f->id, sizeof(f->id), idx);
			t->nf++;
			if (f->type == F_BYTES) {
				char keep[sizeof(f->len_id)];
				snprintf(keep, sizeof(keep), "%s_len", f->id);
				uniq(t, keep, sizeof(keep), idx);
				memcpy(f->len_id, keep, sizeof(keep));
			}
		}
		if (frc != SQLITE_DONE && frc != SQLITE_ROW) {
			sqlite3_finalize(fs);
			sqlite3_finalize(s);
			return db_fail(C);
		}
		if (!strcmp(t->kind, "span_end")) {
			snprintf(t->dur_id, sizeof(t->dur_id), "_dur");
			uniq(t, t->dur_id, sizeof(t->dur_id), 9);
			t->dur = true;
		}
	}
	sqlite3_finalize(fs);
	if (load_end(C, s, rc))
		return -1;
	qsort(C->t, C->nt, sizeof(*C->t), cmp_type);
	/* the crash event class takes an id no stored type uses */
	int64_t max = C->nt ? C->t[C->nt - 1].id : 0;
	if (max >= UINT32_MAX - 1) {
		ut_error(C->o->cmd, "%s: event type ids out of range",
			 C->o->db_path);
		return -1;
	}
	for (size_t i = 0; i < C->ng; i++)
		C->g[i].crash_id = (uint32_t)max + 1;
	return 0;
}

static int load_lanes(struct ctf *C)
{
	sqlite3_stmt *s;
	char *sql = sqlite3_mprintf("SELECT l.id, l.guest_id, l.vcpu FROM lanes l "
				    "WHERE 1%s ORDER BY l.guest_id, l.vcpu, l.id",
				    C->gsql);
	int rc;

	if (ut_export_prepare(C->db, sql, &s) != SQLITE_OK)
		return db_fail(C);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		size_t gi;
		if (!find_guest(C, sqlite3_column_int64(s, 1), &gi))
			continue;
		struct clane *l = realloc(C->l, (C->nl + 1) * sizeof(*l));
		if (!l)
			break;
		C->l = l;
		l = &C->l[C->nl++];
		l->id = sqlite3_column_int64(s, 0);
		l->guest = sqlite3_column_int64(s, 1);
		l->vcpu = sqlite3_column_int64(s, 2);
		l->gi = gi;
	}
	if (load_end(C, s, rc))
		return -1;
	return 0;
}

/* ---- packets ------------------------------------------------------------------- */

static int reserve(struct ctf *C, size_t n)
{
	if (C->len + n <= C->cap)
		return 0;
	size_t cap = C->cap ? C->cap : PKT_TARGET + 4096;
	while (cap < C->len + n)
		cap *= 2;
	uint8_t *b = realloc(C->buf, cap);
	if (!b) {
		C->err = ENOMEM;
		return -1;
	}
	C->buf = b;
	C->cap = cap;
	return 0;
}

static void put(struct ctf *C, const void *p, size_t n)
{
	if (reserve(C, n))
		return;
	memcpy(C->buf + C->len, p, n);
	C->len += n;
}

static void put_le(struct ctf *C, uint64_t v, int bytes)
{
	uint8_t b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(C, b, (size_t)bytes);
}

static void set_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void pkt_start(struct ctf *C, const struct clane *L, uint64_t ts)
{
	C->len = 0;
	put_le(C, CTF_MAGIC, 4);
	put(C, C->uuid, 16);
	put_le(C, (uint64_t)L->gi, 4);
	put_le(C, (uint64_t)L->id, 8);
	if (reserve(C, CTX_SIZE))
		return;
	memset(C->buf + C->len, 0, CTX_SIZE); /* filled by pkt_close */
	C->len += CTX_SIZE;
	C->pkt_begin = C->pkt_end = ts;
	C->pkt_events = 0;
	C->pkt_open = true;
}

static void pkt_close(struct ctf *C, const struct clane *L)
{
	uint8_t *p;

	if (!C->pkt_open || C->err)
		return;
	p = C->buf + HDR_SIZE;
	set_le(p, C->pkt_begin, 8);
	set_le(p + 8, C->pkt_end, 8);
	set_le(p + 16, (uint64_t)C->len * 8, 8); /* content_size, bits */
	set_le(p + 24, (uint64_t)C->len * 8, 8); /* packet_size */
	set_le(p + 32, C->pkt_seq++, 8);
	set_le(p + 40, C->discarded, 8);
	set_le(p + 48, (uint64_t)L->vcpu, 4);
	if (fwrite(C->buf, 1, C->len, C->f) != C->len)
		C->err = errno ? errno : EIO;
	C->pkt_open = false;
	C->len = 0;
}

/* Before an event (or an empty packet) at (ts): a packet open. */
static void ev_begin(struct ctf *C, const struct clane *L, uint64_t ts,
		     uint32_t id)
{
	if (C->pkt_open && C->len >= PKT_TARGET)
		pkt_close(C, L);
	if (!C->pkt_open)
		pkt_start(C, L, ts);
	put_le(C, id, 4);
	put_le(C, ts, 8);
	if (ts > C->pkt_end)
		C->pkt_end = ts;
	C->pkt_events++;
}

static void put_str(struct ctf *C, const char *s, size_t n)
{
	/* a string ends at its first NUL in CTF */
	const char *z = s ? memchr(s, 0, n) : NULL;

	if (z)
		n = (size_t)(z - s);
	if (s && n)
		put(C, s, n);
	put_le(C, 0, 1);
}

/* One event row: ts, seq, type, dur, a0..a7 (columns 0..11). */
static void put_event(struct ctf *C, const struct clane *L, sqlite3_stmt *s,
		      const struct ctype *t)
{
	uint64_t ts = (uint64_t)sqlite3_column_int64(s, 0);

	ev_begin(C, L, ts, (uint32_t)t->id);
	for (int i = 0; i < t->nf; i++) {
		const struct cfield *f = &t->f[i];
		int col = 4 + i;
		switch (f->type) {
		case F_F64: {
			double d = sqlite3_column_type(s, col) == SQLITE_NULL
					   ? NAN
					   : sqlite3_column_double(s, col);
			uint64_t bits;
			memcpy(&bits, &d, 8);
			put_le(C, bits, 8);
			break;
		}
		case F_STR:
			put_str(C, (const char *)sqlite3_column_text(s, col),
				(size_t)sqlite3_column_bytes(s, col));
			break;
		case F_BYTES: {
			const void *b = sqlite3_column_blob(s, col);
			size_t n = (size_t)sqlite3_column_bytes(s, col);
			put_le(C, b ? n : 0, 4);
			if (b && n)
				put(C, b, n);
			break;
		}
		default:
			put_le(C, (uint64_t)sqlite3_column_int64(s, col),
			       int_bits(f->type) / 8);
		}
	}
	if (t->dur)
		put_le(C,
		       sqlite3_column_type(s, 3) == SQLITE_NULL
			       ? (uint64_t)-1
			       : (uint64_t)sqlite3_column_int64(s, 3),
		       8);
}

/* A crash row: id, ts, reason, signal, fault_addr, core_path, kind, code. */
static void put_crash(struct ctf *C, const struct clane *L, sqlite3_stmt *s,
		      uint64_t ts)
{
	ev_begin(C, L, ts, C->g[L->gi].crash_id);
	put_le(C, (uint64_t)sqlite3_column_int64(s, 0), 8);
	put_str(C, (const char *)sqlite3_column_text(s, 6),
		(size_t)sqlite3_column_bytes(s, 6));
	put_str(C, (const char *)sqlite3_column_text(s, 2),
		(size_t)sqlite3_column_bytes(s, 2));
	put_le(C, (uint64_t)sqlite3_column_int64(s, 3), 4);
	put_le(C, (uint64_t)sqlite3_column_int64(s, 7), 8);
	put_le(C, (uint64_t)sqlite3_column_int64(s, 4), 8);
	put_str(C, (const char *)sqlite3_column_text(s, 5),
		(size_t)sqlite3_column_bytes(s, 5));
}

/* ---- one lane ------------------------------------------------------------------ */

static void stream_path(struct ctf *C, const struct clane *L, char *buf,
			size_t cap)
{
	char name[64];
	size_t n = 0;

	for (const char *p = C->g[L->gi].name; *p && n + 1 < sizeof(name);
	     p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-';
		name[n++] = ok ? c : '_';
	}
	name[n] = 0;
	snprintf(buf, cap, "%s/g%" PRId64 "-%s-vcpu%" PRId64, C->tmp,
		 L->guest, name, L->vcpu);
}

static int prep(struct ctf *C, sqlite3_stmt **s, char *sql)
{
	if (!sql) {
		ut_error(C->o->cmd, "out of memory");
		return -1;
	}
	return ut_export_prepare(C->db, sql, s) == SQLITE_OK ? 0 : db_fail(C);
}

static int write_lane(struct ctf *C, const struct clane *L)
{
	const ut_export_opts_t *o = C->o;
	sqlite3_stmt *ev = NULL, *lost = NULL, *cr = NULL;
	char win[128] = "", path[4500 + 128];
	int rc = -1, erc, lrc = SQLITE_DONE, crc = SQLITE_DONE;
	uint64_t last_ts = 0;
	bool any_ts = false;

	/* lost ranges and crashes of the lane within --from/--to */
	if (o->has_from)
		snprintf(win, sizeof(win), " AND (%%s IS NULL OR %%s >= %" PRId64 ")",
			 o->from_ns);
	char lw[512] = "", cw[512] = "";
	if (o->has_from) {
		snprintf(lw, sizeof(lw), win, "ts_after", "ts_after");
		snprintf(cw, sizeof(cw), win, "c.ts", "c.ts");
	}
	if (o->has_to) {
		size_t n = strlen(lw), m = strlen(cw);
		snprintf(lw + n, sizeof(lw) - n,
			 " AND (ts_before IS NULL OR ts_before <= %" PRId64 ")",
			 o->to_ns);
		snprintf(cw + m, sizeof(cw) - m,
			 " AND (c.ts IS NULL OR c.ts <= %" PRId64 ")", o->to_ns);
	}
	char bw[256] = "";
	if (o->has_from || o->has_to)
		snprintf(bw, sizeof(bw),
			 " AND b.ts_last >= %" PRId64 " AND b.ts_first <= %" PRId64,
			 o->has_from ? o->from_ns : INT64_MIN,
			 o->has_to ? o->to_ns : INT64_MAX);
	if (prep(C, &ev,
		 sqlite3_mprintf(
			 "SELECT e.ts, e.seq, e.type, e.dur, e.a0, e.a1, e.a2, "
			 "e.a3, e.a4, e.a5, e.a6, e.a7 FROM event_blocks b "
			 "JOIN events e ON e.id BETWEEN b.row_first AND "
			 "b.row_last JOIN lanes l ON l.id = e.lane "
			 "WHERE b.lane = %lld AND e.lane = %lld%s%s "
			 "ORDER BY e.ts, e.seq",
			 (long long)L->id, (long long)L->id, bw, C->filter)) ||
	    prep(C, &lost,
		 sqlite3_mprintf("SELECT seq_first, count, ts_before, ts_after "
				 "FROM lost WHERE lane = %lld%s ORDER BY seq_first",
				 (long long)L->id, lw)))
		goto out;
	/* A crash goes to the lane of its vCPU, else to the guest's first
	 * lane; none with --event (it is not a stored event type). */
	if (C->has_crashes && !o->nevents &&
	    prep(C, &cr,
		 sqlite3_mprintf(
			 "SELECT c.id, c.ts, c.reason, c.signal, c.fault_addr, "
			 "c.core_path, %s, %s FROM crashes c WHERE coalesce("
			 "(SELECT x.id FROM lanes x WHERE x.guest_id = "
			 "c.guest_id AND x.vcpu = %s), (SELECT x.id FROM lanes "
			 "x WHERE x.guest_id = c.guest_id ORDER BY x.vcpu, x.id "
			 "LIMIT 1)) = %lld%s ORDER BY c.ts IS NULL, c.ts, c.id",
			 C->crash_cols ? "c.kind" : "'unknown'",
			 C->crash_cols ? "c.code" : "0",
			 C->crash_cols ? "c.vcpu" : "NULL", (long long)L->id,
			 cw)))
		goto out;

	stream_path(C, L, path, sizeof(path));
	C->f = NULL;
	C->pkt_seq = 0;
	C->discarded = 0;
	C->pkt_open = false;
	C->len = 0;

	uint64_t pending = 0; /* lost events not yet in a packet context */
	lrc = sqlite3_step(lost);
	if (cr)
		crc = sqlite3_step(cr);
	for (;;) {
		erc = sqlite3_step(ev);
		if (erc != SQLITE_ROW)
			break;
		if (ut_export_interrupted())
			goto out;
		const struct ctype *t = find_type(C, sqlite3_column_int64(ev, 2));
		if (!t)
			continue; /* a type of another guest: impossible */
		uint64_t ts = (uint64_t)sqlite3_column_int64(ev, 0);
		int64_t seq = sqlite3_column_int64(ev, 1);
		if (!C->f) {
			C->f = fopen(path, "wbx");
			if (!C->f) {
				C->err = errno;
				goto out;
			}
		}
		/* crashes before this event */
		while (crc == SQLITE_ROW &&
		       sqlite3_column_type(cr, 1) != SQLITE_NULL &&
		       (uint64_t)sqlite3_column_int64(cr, 1) <= ts) {
			put_crash(C, L, cr, (uint64_t)sqlite3_column_int64(cr, 1));
			crc = sqlite3_step(cr);
		}
		/* lost ranges before this event: close the packet at the gap */
		while (lrc == SQLITE_ROW && sqlite3_column_int64(lost, 0) < seq) {
			pending += (uint64_t)sqlite3_column_int64(lost, 1);
			lrc = sqlite3_step(lost);
		}
		if (pending) {
			pkt_close(C, L);
			C->discarded += pending;
			pending = 0;
		}
		put_event(C, L, ev, t);
		last_ts = ts;
		any_ts = true;
		ut_export_progress(&C->prog, ++C->done);
		if (C->err)
			goto out;
	}
	if (erc != SQLITE_DONE) {
		db_fail(C);
		goto out;
	}
	/* the rest: crashes (unknown time: at the lane's last time) and lost
	 * ranges after the last event, in an empty packet of their own */
	while (crc == SQLITE_ROW) {
		uint64_t ts = sqlite3_column_type(cr, 1) == SQLITE_NULL
				      ? last_ts
				      : (uint64_t)sqlite3_column_int64(cr, 1);
		if (!C->f && !(C->f = fopen(path, "wbx"))) {
			C->err = errno;
			goto out;
		}
		if (ts < last_ts)
			ts = last_ts;
		put_crash(C, L, cr, ts);
		last_ts = ts;
		any_ts = true;
		crc = sqlite3_step(cr);
	}
	while (lrc == SQLITE_ROW) {
		pending += (uint64_t)sqlite3_column_int64(lost, 1);
		if (sqlite3_column_type(lost, 2) != SQLITE_NULL &&
		    (uint64_t)sqlite3_column_int64(lost, 2) > last_ts) {
			last_ts = (uint64_t)sqlite3_column_int64(lost, 2);
			any_ts = true;
		}
		lrc = sqlite3_step(lost);
	}
	if (lrc != SQLITE_DONE || crc != SQLITE_DONE) {
		db_fail(C);
		goto out;
	}
	if (pending && any_ts) {
		if (!C->f && !(C->f = fopen(path, "wbx"))) {
			C->err = errno;
			goto out;
		}
		pkt_close(C, L);
		C->discarded += pending;
		pkt_start(C, L, last_ts);
		C->pkt_end = last_ts;
	}
	pkt_close(C, L);
	if (C->f)
		C->g[L->gi].used = true;
	rc = C->err ? -1 : 0;
out:
	if (C->f) {
		if (fclose(C->f) && !C->err)
			C->err = errno;
		C->f = NULL;
	}
	if (C->err && rc == 0)
		rc = -1;
	sqlite3_finalize(ev);
	sqlite3_finalize(lost);
	sqlite3_finalize(cr);
	return rc;
}

/* ---- metadata --------------------------------------------------------------------- */

static void tsdl_int(FILE *f, int bits, bool sign, bool hex)
{
	fprintf(f, "integer { size = %d; align = 8; signed = %s; base = %d; }",
		bits, sign ? "true" : "false", hex ? 16 : 10);
}

static void write_field(FILE *f, const struct cfield *x)
{
	fputs("\t\t", f);
	switch (x->type) {
	case F_F64:
		fprintf(f, "floating_point { exp_dig = 11; mant_dig = 53; "
			   "align = 8; } %s;\n",
			x->id);
		return;
	case F_STR:
		fprintf(f, "string { encoding = UTF8; } %s;\n", x->id);
		return;
	case F_BYTES:
		tsdl_int(f, 32, false, false);
		fprintf(f, " %s;\n\t\t", x->len_id);
		tsdl_int(f, 8, false, true);
		fprintf(f, " %s[%s];\n", x->id, x->len_id);
		return;
	default:
		break;
	}
	if (x->level) {
		fputs("enum : ", f);
		tsdl_int(f, int_bits(x->type), int_signed(x->type), false);
		fprintf(f, " { ERROR = 0, WARN = 1, INFO = 2, DEBUG = 3 } %s;\n",
			x->id);
		return;
	}
	tsdl_int(f, int_bits(x->type), int_signed(x->type), x->hex);
	fprintf(f, " %s;\n", x->id);
}

static const char *event_suffix(const char *kind)
{
	if (!strcmp(kind, "span_begin"))
		return ":begin";
	if (!strcmp(kind, "span_end"))
		return ":end";
	return "";
}

static int write_metadata(struct ctf *C)
{
	char path[4200], host[256] = "";
	FILE *f;
	bool all_rt = true;

	snprintf(path, sizeof(path), "%s/metadata", C->tmp);
	f = fopen(path, "wx");
	if (!f) {
		C->err = errno;
		return -1;
	}
	for (size_t i = 0; i < C->ng; i++)
		if (!C->g[i].has_rt)
			all_rt = false;
	gethostname(host, sizeof(host) - 1);
	fputs("/* CTF 1.8 */\n\n", f);
	fputs("/* Written by unitrace export --format ctf. */\n\n", f);
	fprintf(f, "trace {\n\tmajor = 1;\n\tminor = 8;\n\tuuid = \"%s\";\n"
		   "\tbyte_order = le;\n\tpacket.header := struct {\n",
		C->uuid_s);
	fputs("\t\tinteger { size = 32; align = 8; signed = false; base = 16; } "
	      "magic;\n",
	      f);
	fputs("\t\tinteger { size = 8; align = 8; signed = false; } uuid[16];\n",
	      f);
	fputs("\t\tinteger { size = 32; align = 8; signed = false; } "
	      "stream_id;\n",
	      f);
	fputs("\t\tinteger { size = 64; align = 8; signed = false; } "
	      "stream_instance_id;\n\t};\n};\n\n",
	      f);

	fputs("env {\n\ttracer_name = \"unitrace\";\n\thostname = \"", f);
	tsdl_str(f, C->ng == 1 ? C->g[0].name : host);
	fputs("\";\n\tdomain = \"unikernel\";\n\ttrace_name = \"", f);
	tsdl_str(f, C->o->db_path);
	fprintf(f, "\";\n\tguests = %zu;\n", C->ng);
	for (size_t i = 0; i < C->ng; i++) {
		const struct cguest *g = &C->g[i];
		fprintf(f, "\tguest%zu_id = %" PRId64 ";\n\tguest%zu_name = \"",
			i, g->id, i);
		tsdl_str(f, g->name);
		fprintf(f, "\";\n\tguest%zu_platform = \"", i);
		tsdl_str(f, g->platform);
		fprintf(f, "\";\n\tguest%zu_build_id = \"", i);
		tsdl_str(f, g->build_id);
		fputs("\";\n", f);
	}
	fputs("};\n\n", f);

	for (size_t i = 0; i < C->ng; i++) {
		const struct cguest *g = &C->g[i];
		int64_t off = g->has_rt ? g->realtime - g->ref : 0;
		int64_t sec = off / 1000000000, ns = off % 1000000000;
		if (ns < 0) {
			ns += 1000000000;
			sec--;
		}
		/* Every clock is absolute (on the Unix epoch) when every
		 * guest has a wall-clock reference, so babeltrace2 can
		 * interleave the guests; else none is, with one shared uuid. */
		fprintf(f, "clock {\n\tname = g%" PRId64 ";\n", g->id);
		if (!all_rt)
			fprintf(f, "\tuuid = \"%s\";\n", C->uuid_s);
		fputs("\tdescription = \"monotonic clock of guest ", f);
		tsdl_str(f, g->name);
		fprintf(f, " (ns; offset: its wall-clock reference)\";\n"
			   "\tfreq = 1000000000;\n\tprecision = 1;\n"
			   "\toffset_s = %" PRId64 ";\n\toffset = %" PRId64 ";\n"
			   "\tabsolute = %s;\n};\n\n",
			sec, ns, all_rt ? "true" : "false");
	}

	for (size_t i = 0; i < C->ng; i++) {
		const struct cguest *g = &C->g[i];
		char clk[128];
		snprintf(clk, sizeof(clk),
			 "integer { size = 64; align = 8; signed = false; "
			 "map = clock.g%" PRId64 ".value; }",
			 g->id);
		fprintf(f, "/* guest %" PRId64 " \"", g->id);
		for (const char *p = g->name; *p; p++)
			fputc(*p == '*' || ut_text_is_ctl((unsigned char)*p)
				      ? '?' : *p, f);
		fprintf(f, "\" */\nstream {\n\tid = %zu;\n", i);
		fprintf(f, "\tpacket.context := struct {\n"
			   "\t\t%s timestamp_begin;\n\t\t%s timestamp_end;\n",
			clk, clk);
		fputs("\t\tinteger { size = 64; align = 8; signed = false; } "
		      "content_size;\n"
		      "\t\tinteger { size = 64; align = 8; signed = false; } "
		      "packet_size;\n"
		      "\t\tinteger { size = 64; align = 8; signed = false; } "
		      "packet_seq_num;\n"
		      "\t\tinteger { size = 64; align = 8; signed = false; } "
		      "events_discarded;\n"
		      "\t\tinteger { size = 32; align = 8; signed = false; } "
		      "cpu_id;\n\t};\n",
		      f);
		fprintf(f, "\tevent.header := struct {\n"
			   "\t\tinteger { size = 32; align = 8; signed = false; } "
			   "id;\n\t\t%s timestamp;\n\t};\n};\n\n",
			clk);
		for (size_t k = 0; k < C->nt; k++) {
			const struct ctype *t = &C->t[k];
			if (t->guest != g->id)
				continue;
			fprintf(f, "event {\n\tname = \"");
			tsdl_str(f, t->name);
			tsdl_str(f, event_suffix(t->kind));
			fprintf(f, "\";\n\tid = %" PRId64 ";\n\tstream_id = %zu;\n",
				t->id, i);
			fputs("\tfields := struct {\n", f);
			for (int j = 0; j < t->nf; j++)
				write_field(f, &t->f[j]);
			if (t->dur)
				fprintf(f, "\t\tinteger { size = 64; align = 8; "
					   "signed = true; } %s;\n",
					t->dur_id);
			fputs("\t};\n};\n\n", f);
		}
		fprintf(f, "event {\n\tname = \"unitrace:crash\";\n\tid = %u;\n"
			   "\tstream_id = %zu;\n\tfields := struct {\n",
			g->crash_id, i);
		fputs("\t\tinteger { size = 64; align = 8; signed = false; } "
		      "_crash_id;\n"
		      "\t\tstring { encoding = UTF8; } _kind;\n"
		      "\t\tstring { encoding = UTF8; } _reason;\n"
		      "\t\tinteger { size = 32; align = 8; signed = true; } "
		      "_signal;\n"
		      "\t\tinteger { size = 64; align = 8; signed = true; } "
		      "_code;\n"
		      "\t\tinteger { size = 64; align = 8; signed = false; "
		      "base = 16; } _fault_addr;\n"
		      "\t\tstring { encoding = UTF8; } _core_path;\n\t};\n};\n\n",
		      f);
	}
	if (ferror(f)) {
		C->err = EIO;
		fclose(f);
		return -1;
	}
	if (fclose(f)) {
		C->err = errno;
		return -1;
	}
	return 0;
}

/* ---- the export ------------------------------------------------------------------- */

static bool dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	if (!d)
		return false;
	while (empty && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

static void make_uuid(struct ctf *C)
{
	if (getrandom(C->uuid, sizeof(C->uuid), 0) != (ssize_t)sizeof(C->uuid)) {
		uint64_t x = (uint64_t)ut_now_ns() ^ ((uint64_t)getpid() << 32);
		for (int i = 0; i < 16; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			C->uuid[i] = (uint8_t)(x >> 56);
		}
	}
	C->uuid[6] = (uint8_t)((C->uuid[6] & 0x0f) | 0x40);
	C->uuid[8] = (uint8_t)((C->uuid[8] & 0x3f) | 0x80);
	char *p = C->uuid_s;
	for (int i = 0; i < 16; i++) {
		p += sprintf(p, "%02x", C->uuid[i]);
		if (i == 3 || i == 5 || i == 7 || i == 9)
			*p++ = '-';
	}
	*p = 0;
}

int ut_export_ctf(sqlite3 *db, const ut_export_opts_t *o)
{
	struct ctf *C = calloc(1, sizeof(*C));
	struct stat st;
	int rc = 1;
	bool made = false;

	if (!C) {
		ut_error(o->cmd, "out of memory");
		return 1;
	}
	C->db = db;
	C->o = o;
	if (ut_export_filter_sql(db, o, C->filter, sizeof(C->filter)) ||
	    ut_export_guest_sql(db, o, C->gsql, sizeof(C->gsql)))
		goto done;
	if (!stat(o->out, &st) && !S_ISDIR(st.st_mode)) {
		ut_error(o->cmd, "%s exists and is not a directory "
				 "(--format ctf writes a directory)", o->out);
		goto done;
	}
	if (!stat(o->out, &st) && !dir_empty(o->out)) {
		ut_error(o->cmd, "%s is a directory that is not empty; "
				 "remove it or choose another name", o->out);
		goto done;
	}
	int r = ut_tracedb_has_table(db, "crashes");
	C->has_crashes = r == 1;
	C->crash_cols = C->has_crashes &&
			ut_tracedb_has_column(db, "crashes", "kind") == 1 &&
			ut_tracedb_has_column(db, "crashes", "code") == 1 &&
			ut_tracedb_has_column(db, "crashes", "vcpu") == 1;
	if (load_guests(C) || load_types(C) || load_lanes(C))
		goto done;
	if (ut_export_tmp_path(o->out, C->tmp, sizeof(C->tmp))) {
		ut_error(o->cmd, "%s: output path too long", o->out);
		goto done;
	}
	ut_export_abort(C->tmp); /* a leftover of an earlier process with our pid */
	if (mkdir(C->tmp, 0777)) {
		ut_error(o->cmd, "cannot write %s: %s", o->out, strerror(errno));
		goto done;
	}
	made = true;
	make_uuid(C);
	int64_t total = ut_export_count(db, C->filter);
	ut_export_progress_start(&C->prog, total > 0 ? (uint64_t)total : 0,
				 o->quiet);
	for (size_t i = 0; i < C->nl; i++)
		if (write_lane(C, &C->l[i]))
			goto fail;
	if (write_metadata(C))
		goto fail;
	ut_export_progress_end(&C->prog, C->done);
	if (ut_export_commit(C->tmp, o->out)) {
		ut_error(o->cmd, "cannot rename %s to %s: %s", C->tmp, o->out,
			 strerror(errno));
		goto done;
	}
	made = false;
	rc = 0;
	goto done;
fail:
	if (ut_export_interrupted())
		; /* said below */
	else if (C->err)
		ut_error(o->cmd, "cannot write %s: %s", o->out,
			 strerror(C->err));
done:
	if (made)
		ut_export_abort(C->tmp);
	if (rc) {
		int sig = ut_export_interrupted();
		if (sig)
			ut_error(o->cmd, "interrupted by signal %d; %s not "
					 "written", sig, o->out);
	}
	free(C->buf);
	free(C->g);
	free(C->t);
	free(C->l);
	free(C);
	return rc;
}
