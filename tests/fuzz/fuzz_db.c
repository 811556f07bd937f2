/*
 * libFuzzer target: a hostile trace database opened by `unitrace list`,
 * `stats`, `crash` (the list and each crash in detail) and `view` (the
 * model: guests, types, lanes, crashes, the block summary, windows of
 * events, their fields, lost ranges, the span index).  Each command runs
 * in-process on a file in a private temporary directory, as it would from
 * the command line.
 *
 * Two kinds of input:
 *  - one that starts with the SQLite header ("SQLite format 3\0") is the
 *    database file itself (byte-level mutations of the seed databases);
 *  - anything else is a script of changes to a copy of a valid trace (the
 *    seeds tests/fuzz/seeds/db/ *.db, or $UT_FUZZ_DB_BASES), so that the
 *    file stays a database and the commands reach their own code:
 *
 *      [u8 base] then ops, each [u8 op] [u8 table] [u8 column] [args]:
 *        0 UPDATE one row (k-th) of a column to a value, 1 every row,
 *        2 DELETE the rows whose rowid % m = r, 3 INSERT a row with one
 *        column set, 4 DROP an index, 5 DROP a table or view, 6 set a
 *        meta key, 7 ALTER TABLE DROP COLUMN, 8 RENAME a column,
 *        9 overwrite file bytes once closed ([u24 offset] [u8 n] [bytes]).
 *      A value: [u8 type] NULL, integers (raw 8 bytes, small, extremes),
 *      a real, text or blob of the next [u8 len] bytes, a zeroblob of up
 *      to 64 KiB, or a word from the trace's own vocabulary.
 *
 * A command may fail (a clear message, exit status 1) but never crash,
 * hang or read out of bounds.  UT_FUZZ_DB_SAVE=FILE keeps a copy of the
 * database an input makes (to run the commands on it by hand).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli.h"
#include "viewer.h"

extern const struct ut_cmd ut_cmd_list, ut_cmd_stats, ut_cmd_crash;

#define MAX_BASES 8
#define MAX_TABLES 64
#define MAX_COLS 32

static struct {
	uint8_t *bytes;
	size_t len;
} bases[MAX_BASES];
static int nbases;

/* The schema of the first base, to name tables and columns by number. */
static char *tables[MAX_TABLES], *cols[MAX_TABLES][MAX_COLS], *indexes[64];
static int ntables, ncols[MAX_TABLES], nindexes;
static char *meta_keys[32];
static int nmeta;

static char dir[64], path[128];

static const char *const words[] = {
	"instant", "span_begin", "span_end", "counter", "log", "u8", "s64",
	"f64", "str", "bytes", "x64", "running", "crashed", "exited", "corrupt",
	"signal", "panic", "trap", "fp", "cfi-core", "\x1b[2J", "\xff\xfe",
	"", "-1", "1e308", "9223372036854775807", "a,b,c", "%s%n",
};

static uint8_t *read_all(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	uint8_t *b = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)n)) &&
	    fread(b, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static int write_all(const char *p, const uint8_t *b, size_t len)
{
	FILE *f = fopen(p, "wb");
	int rc;

	if (!f)
		return -1;
	rc = fwrite(b, 1, len, f) == len ? 0 : -1;
	return fclose(f) || rc ? -1 : 0;
}

static void cleanup_files(void)
{
	char p[160];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-journal", path);
	unlink(p);
}

static void at_exit(void)
{
	cleanup_files();
	rmdir(dir);
}

static char *dup_text(const unsigned char *s)
{
	char *d = strdup(s ? (const char *)s : "");
	if (!d)
		abort();
	return d;
}

/* Learn tables, columns, indexes and meta keys from the first base. */
static void learn_schema(void)
{
	sqlite3 *db;
	sqlite3_stmt *s;

	if (write_all(path, bases[0].bytes, bases[0].len) ||
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		abort();
	sqlite3_prepare_v2(db, "SELECT type, name FROM sqlite_master WHERE "
			   "name NOT LIKE 'sqlite_%' ORDER BY name", -1, &s, NULL);
	while (s && sqlite3_step(s) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(s, 0);
		if (!strcmp(type, "index") && nindexes < 64)
			indexes[nindexes++] = dup_text(sqlite3_column_text(s, 1));
		else if (strcmp(type, "index") && ntables < MAX_TABLES)
			tables[ntables++] = dup_text(sqlite3_column_text(s, 1));
	}
	sqlite3_finalize(s);
	for (int t = 0; t < ntables; t++) {
		sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1)", -1,
				   &s, NULL);
		sqlite3_bind_text(s, 1, tables[t], -1, SQLITE_STATIC);
		while (sqlite3_step(s) == SQLITE_ROW && ncols[t] < MAX_COLS)
			cols[t][ncols[t]++] = dup_text(sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
	if (sqlite3_prepare_v2(db, "SELECT key FROM meta", -1, &s, NULL) ==
	    SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW && nmeta < 32)
			meta_keys[nmeta++] = dup_text(sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	if (ntables == 0)
		abort();
}

static void setup(void)
{
	const char *bd = getenv("UT_FUZZ_DB_BASES");
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	DIR *d;

	if (!bd)
		bd = "tests/fuzz/seeds/db";
	if (!(d = opendir(bd))) {
		fprintf(stderr, "fuzz_db: cannot open %s (run from the top of "
			"the tree or set UT_FUZZ_DB_BASES)\n", bd);
		abort();
	}
	while ((e = readdir(d)))
		if (strlen(e->d_name) > 3 &&
		    !strcmp(e->d_name + strlen(e->d_name) - 3, ".db")) {
			names = realloc(names, (n + 1) * sizeof(*names));
			if (!names || !(names[n] = malloc(strlen(bd) + 258)))
				abort();
			sprintf(names[n++], "%s/%s", bd, e->d_name);
		}
	closedir(d);
	for (size_t i = 0; i < n; i++) /* sorted: the same base numbers */
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char *t = names[i];
				names[i] = names[j], names[j] = t;
			}
	for (size_t i = 0; i < n; i++) {
		if (nbases < MAX_BASES &&
		    (bases[nbases].bytes = read_all(names[i], &bases[nbases].len)))
			nbases++;
		free(names[i]);
	}
	free(names);
	if (nbases == 0) {
		fprintf(stderr, "fuzz_db: no *.db in %s\n", bd);
		abort();
	}
	snprintf(dir, sizeof(dir), "%s/fuzzdb.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/t.db", dir);
	atexit(at_exit);
	learn_schema();
}

typedef struct {
	const uint8_t *p;
	size_t n;
} in_t;

static int byte(in_t *in)
{
	if (!in->n)
		return -1;
	in->n--;
	return *in->p++;
}

/* The next 8 bytes (0 past the end). */
static void bytes8(in_t *in, uint8_t b[8])
{
	for (int j = 0; j < 8; j++)
		b[j] = (uint8_t)(byte(in) & 0xff);
}

static void bind_value(sqlite3_stmt *s, int k, in_t *in)
{
	static const int64_t extremes[] = {
		INT64_MIN, INT64_MAX, -1, 0, 1, 0x7fffffff, 0x80000000LL,
		0xffffffffLL, 1LL << 53, -(1LL << 62),
	};
	int t = byte(in);
	uint8_t b[8] = {0};
	int64_t i;
	double d;
	int len;

	switch (t < 0 ? 0 : t % 9) {
	case 0:
		sqlite3_bind_null(s, k);
		break;
	case 1:
		bytes8(in, b);
		memcpy(&i, b, 8);
		sqlite3_bind_int64(s, k, i);
		break;
	case 2:
		sqlite3_bind_int64(s, k, (int8_t)byte(in));
		break;
	case 3:
		sqlite3_bind_int64(s, k, extremes[(byte(in) & 0xff) %
						  (sizeof(extremes) / sizeof(*extremes))]);
		break;
	case 4:
		bytes8(in, b);
		memcpy(&d, b, 8);
		sqlite3_bind_double(s, k, d);
		break;
	case 5:
	case 6:
		len = byte(in);
		if (len < 0)
			len = 0;
		if ((size_t)len > in->n)
			len = (int)in->n;
		if (t % 9 == 5)
			sqlite3_bind_text(s, k, (const char *)in->p, len,
					  SQLITE_TRANSIENT);
		else
			sqlite3_bind_blob(s, k, in->p, len, SQLITE_TRANSIENT);
		in->p += len, in->n -= (size_t)len;
		break;
	case 7:
		sqlite3_bind_zeroblob(s, k, (byte(in) & 0xff) * 256);
		break;
	default:
		sqlite3_bind_text(s, k, words[(byte(in) & 0xff) %
					      (sizeof(words) / sizeof(*words))],
				  -1, SQLITE_STATIC);
		break;
	}
}

static void exec_bound(sqlite3 *db, char *sql, in_t *in, int nvals)
{
	sqlite3_stmt *s;

	if (sql && sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		for (int k = 1; k <= nvals; k++)
			bind_value(s, k, in);
		while (sqlite3_step(s) == SQLITE_ROW)
			;
		sqlite3_finalize(s);
	}
	sqlite3_free(sql);
}

/* Apply the script (in) to the base copy at path; file patches after. */
static void apply_script(in_t *in)
{
	sqlite3 *db;
	struct {
		uint32_t off;
		const uint8_t *p;
		size_t n;
	} patch[16];
	int npatch = 0, op;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return;
	}
	sqlite3_exec(db, "PRAGMA journal_mode=MEMORY; BEGIN", NULL, NULL, NULL);
	for (int nops = 0; nops < 32 && (op = byte(in)) >= 0; nops++) {
		int ti = (byte(in) & 0xff) % ntables;
		const char *t = tables[ti];
		const char *c = ncols[ti] ? cols[ti][(byte(in) & 0xff) % ncols[ti]]
					  : "rowid";
		int a, r;
		switch (op % 10) {
		case 0:
			a = byte(in) & 0xff;
			exec_bound(db, sqlite3_mprintf(
				"UPDATE \"%w\" SET \"%w\" = ?1 WHERE rowid = (SELECT "
				"rowid FROM \"%w\" LIMIT 1 OFFSET %d)", t, c, t, a),
				in, 1);
			break;
		case 1:
			exec_bound(db, sqlite3_mprintf("UPDATE \"%w\" SET \"%w\" = ?1",
						       t, c), in, 1);
			break;
		case 2:
			a = (byte(in) & 0xff) + 1;
			r = (byte(in) & 0xff) % a;
			exec_bound(db, sqlite3_mprintf("DELETE FROM \"%w\" WHERE "
						       "rowid %% %d = %d", t, a, r),
				   in, 0);
			break;
		case 3:
			exec_bound(db, sqlite3_mprintf("INSERT INTO \"%w\"(\"%w\") "
						       "VALUES(?1)", t, c), in, 1);
			break;
		case 4:
			if (nindexes)
				exec_bound(db, sqlite3_mprintf("DROP INDEX IF EXISTS "
					"\"%w\"", indexes[(byte(in) & 0xff) % nindexes]),
					in, 0);
			break;
		case 5:
			exec_bound(db, sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\"",
						       t), in, 0);
			exec_bound(db, sqlite3_mprintf("DROP VIEW IF EXISTS \"%w\"",
						       t), in, 0);
			break;
		case 6:
			if (nmeta)
				exec_bound(db, sqlite3_mprintf(
					"INSERT OR REPLACE INTO meta(key, value) "
					"VALUES('%q', ?1)",
					meta_keys[(byte(in) & 0xff) % nmeta]), in, 1);
			break;
		case 7:
			exec_bound(db, sqlite3_mprintf("ALTER TABLE \"%w\" DROP "
						       "COLUMN \"%w\"", t, c), in, 0);
			break;
		case 8:
			exec_bound(db, sqlite3_mprintf("ALTER TABLE \"%w\" RENAME "
						       "COLUMN \"%w\" TO \"%w_\"",
						       t, c, c), in, 0);
			break;
		default:
			if (npatch < 16 && in->n >= 4) {
				patch[npatch].off = (uint32_t)in->p[0] |
						    (uint32_t)in->p[1] << 8 |
						    (uint32_t)in->p[2] << 16;
				patch[npatch].n = in->p[3];
				in->p += 4, in->n -= 4;
				if (patch[npatch].n > in->n)
					patch[npatch].n = in->n;
				patch[npatch].p = in->p;
				in->p += patch[npatch].n, in->n -= patch[npatch].n;
				npatch++;
			}
			break;
		}
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	if (npatch) {
		size_t len;
		uint8_t *b = read_all(path, &len);
		if (!b)
			return;
		for (int i = 0; i < npatch; i++) {
			size_t o = patch[i].off % len;
			memcpy(b + o, patch[i].p,
			       patch[i].n < len - o ? patch[i].n : len - o);
		}
		write_all(path, b, len);
		free(b);
	}
}

static void run(const struct ut_cmd *cmd, int argc, const char *const *args)
{
	char *argv[8];

	for (int i = 0; i < argc; i++)
		argv[i] = (char *)args[i];
	argv[argc] = NULL;
	(void)cmd->run(argc, argv);
}

static void view_model(void)
{
	vw_model_t *m = model_open(path);
	vw_evvec_t v = {0};
	vw_lost_t lost[8];
	vw_open_t open[8];
	char buf[1024];

	if (!m)
		return;
	for (int li = 0; li < m->nlanes && li < 8; li++) {
		vw_lane_t *l = &m->lanes[li];
		evvec_clear(&v);
		(void)model_window(m, li, l->ts_first, l->ts_last, 64, &v);
		for (size_t i = 0; i < v.n && i < 16; i++) {
			vw_ev_t ev;
			model_fields(m, v.v[i].id, buf, sizeof(buf));
			(void)model_event(m, v.v[i].id, &ev);
		}
		(void)model_step(m, li, l->ts_first, 0, 1, 16, &v, NULL);
		(void)model_step(m, li, l->ts_last, INT64_MAX, -1, 16, &v, NULL);
		(void)model_lost(m, li, l->ts_first, l->ts_last, lost, 8);
		(void)model_lost_step(m, li, l->ts_first, 1, lost);
	}
	if (m->nlanes > 0) {
		spans_start(m);
		for (int i = 0; i < 100000 && !spans_done(m); i++)
			usleep(100);
		(void)model_open_spans(m, 0, m->lanes[0].ts_last, INT64_MAX,
				       open, 8);
	}
	(void)model_refresh(m);
	evvec_free(&v);
	model_close(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char hdr[16] = "SQLite format 3";
	in_t in = {data, size};

	if (!nbases)
		setup();
	cleanup_files();
	if (size >= 16 && !memcmp(data, hdr, 16)) {
		if (write_all(path, data, size))
			abort();
	} else {
		int b = byte(&in);
		const size_t bi = (size_t)(b < 0 ? 0 : b) % (size_t)nbases;
		if (write_all(path, bases[bi].bytes, bases[bi].len))
			abort();
		apply_script(&in);
	}
	const char *save = getenv("UT_FUZZ_DB_SAVE");
	if (save) { /* the database this input makes, to look at by hand */
		size_t len;
		uint8_t *b = read_all(path, &len);
		if (b && write_all(save, b, len) == 0)
			fprintf(stderr, "fuzz_db: database saved as %s\n", save);
		free(b);
	}
	{
		const char *a_list[] = {"list", "-v", path};
		const char *a_stats[] = {"stats", path};
		const char *a_crash[] = {"crash", path};
		const char *a_crash1[] = {"crash", path, "1"};
		const char *a_crash2[] = {"crash", "-n", "3", path, "2"};
		run(&ut_cmd_list, 3, a_list);
		run(&ut_cmd_stats, 2, a_stats);
		run(&ut_cmd_crash, 2, a_crash);
		run(&ut_cmd_crash, 3, a_crash1);
		run(&ut_cmd_crash, 5, a_crash2);
	}
	view_model();
	return 0;
}
