/*
 * unitrace query: run SQL read-only against a trace database.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "cli.h"
#include "tracedb.h"

static const char query_usage[] =
	"usage: unitrace query [--csv | --json] [--] DB SQL\n"
	"\n"
	"Run the SQL statements in SQL against the trace database DB, read-\n"
	"only, and print the rows each one returns: aligned columns under a\n"
	"header by default.  The schema (tables events, event_blocks,\n"
	"guests, lanes, lost, ..., and one view ev_<name> per event name with\n"
	"a column per field) is described in docs/schema.md.  For example:\n"
	"\n"
	"  unitrace query trace.db \"SELECT ts, len FROM ev_net_rx\n"
	"                            WHERE len > 1000 LIMIT 10\"\n"
	"\n"
	"Options:\n"
	"  --csv       comma-separated values (RFC 4180), header first\n"
	"  --json      one JSON array of objects per statement\n"
	"  --          end of options (for a DB path starting with '-')\n"
	"  -h, --help  show this help\n"
	"\n"
	"In the default output NULL is shown as NULL, blobs as x'hex', and\n"
	"control characters as escapes.  Infinities are Inf and -Inf in the\n"
	"table and CSV, and 1e999 and -1e999 in JSON (valid JSON numbers that\n"
	"JSON parsers read as infinity).  An f64 NaN is stored as NULL.\n"
	"\n"
	"Exit status: 0 success, 1 the database cannot be read or a\n"
	"statement failed (SQLite's message is printed), 2 usage.\n";

enum qfmt { Q_TABLE, Q_CSV, Q_JSON };

static void put_hex(const unsigned char *p, int n)
{
	for (int i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static void csv_text(const unsigned char *v, int n)
{
	bool quote = false;

	for (int i = 0; i < n; i++)
		if (v[i] == ',' || v[i] == '"' || v[i] == '\n' || v[i] == '\r')
			quote = true;
	if (n && (v[0] == ' ' || v[n - 1] == ' '))
		quote = true;
	if (quote)
		putchar('"');
	for (int i = 0; i < n;) {
		unsigned char ch = v[i];
		uint32_t cp = 0;
		int k = ut_text_utf8(v + i, (size_t)(n - i), &cp);
		if (ch == '"')
			putchar('"');
		/* no terminal escapes (C0, DEL, C1 raw or in UTF-8); keep line
		 * breaks and tabs */
		if (k == 0 && ch >= 0x80 && ch <= 0x9f) {
			putchar('?'), i++;
		} else if (k > 1 && ut_text_is_ctl_cp(cp)) {
			putchar('?'), i += k;
		} else if (k > 1) {
			fwrite(v + i, 1, (size_t)k, stdout), i += k;
		} else {
			if (ut_text_is_ctl(ch) && ch != '\n' && ch != '\r' &&
			    ch != '\t')
				ch = '?';
			putchar(ch), i++;
		}
	}
	if (quote)
		putchar('"');
}

static void csv_cell(sqlite3_stmt *s, int c)
{
	int ty = sqlite3_column_type(s, c);

	if (ty == SQLITE_NULL)
		return;
	if (ty == SQLITE_BLOB) {
		put_hex(sqlite3_column_blob(s, c), sqlite3_column_bytes(s, c));
		return;
	}
	const unsigned char *v = sqlite3_column_text(s, c);
	csv_text(v, sqlite3_column_bytes(s, c));
}

static void json_str(const unsigned char *v, int n)
{
	putchar('"');
	for (int i = 0; i < n;) {
		unsigned char ch = v[i];
		uint32_t cp = 0;
		int k;
		if (ch == '"' || ch == '\\') {
			printf("\\%c", ch);
			i++;
		} else if (ut_text_is_ctl(ch)) {
			printf("\\u%04x", ch);
			i++;
		} else if ((k = ut_text_utf8(v + i, (size_t)(n - i), &cp)) > 0) {
			if (ut_text_is_ctl_cp(cp)) /* C1 */
				printf("\\u%04x", (unsigned)cp);
			else
				fwrite(v + i, 1, (size_t)k, stdout);
			i += k;
		} else {
			fputs("\\ufffd", stdout); /* not UTF-8 */
			i++;
		}
	}
	putchar('"');
}

static void json_cell(sqlite3_stmt *s, int c)
{
	switch (sqlite3_column_type(s, c)) {
	case SQLITE_NULL:
		fputs("null", stdout);
		break;
	case SQLITE_INTEGER:
		printf("%lld", sqlite3_column_int64(s, c));
		break;
	case SQLITE_FLOAT: {
		double d = sqlite3_column_double(s, c);
		/* JSON has no infinity: 1e999 is a valid JSON number that
		 * parsers read as infinity (the table and CSV say Inf).
		 * SQLite never returns a NaN (it stores NULL). */
		if (isfinite(d))
			printf("%.17g", d);
		else if (isinf(d))
			fputs(d > 0 ? "1e999" : "-1e999", stdout);
		else
			fputs("null", stdout);
		break;
	}
	case SQLITE_BLOB:
		putchar('"');
		put_hex(sqlite3_column_blob(s, c), sqlite3_column_bytes(s, c));
		putchar('"');
		break;
	default:
		json_str(sqlite3_column_text(s, c), sqlite3_column_bytes(s, c));
		break;
	}
}

static int table_cell(ut_tab_t *t, sqlite3_stmt *s, int c)
{
	switch (sqlite3_column_type(s, c)) {
	case SQLITE_NULL:
		return ut_tab_add(t, "NULL", false);
	case SQLITE_INTEGER:
	case SQLITE_FLOAT:
		return ut_tab_add(t, (const char *)sqlite3_column_text(s, c),
				  true);
	case SQLITE_BLOB: {
		const unsigned char *p = sqlite3_column_blob(s, c);
		int n = sqlite3_column_bytes(s, c);
		char buf[2 * 64 + 8];
		int o = snprintf(buf, sizeof(buf), "x'");
		for (int i = 0; i < n && i < 64; i++)
			o += snprintf(buf + o, sizeof(buf) - (size_t)o, "%02x",
				      p[i]);
		snprintf(buf + o, sizeof(buf) - (size_t)o, "%s'",
			 n > 64 ? ".." : "");
		return ut_tab_add(t, buf, false);
	}
	default: {
		const char *v = (const char *)sqlite3_column_text(s, c);
		return ut_tab_add(t, v ? v : "", false);
	}
	}
}

/* Run prepared statement (s), printing its rows.  0, -1 (SQLite error) or
 * -2 (no memory). */
static int run_stmt(sqlite3_stmt *s, enum qfmt fmt, bool *first_set)
{
	int ncol = sqlite3_column_count(s);
	ut_tab_t *t = NULL;
	long rows = 0;
	int rc;

	if (ncol > 0) {
		if (!*first_set && fmt != Q_JSON)
			putchar('\n');
		*first_set = false;
	}
	if (ncol > 0 && fmt == Q_TABLE) {
		if (!(t = ut_tab_new(ncol)))
			return -2;
		for (int c = 0; c < ncol; c++)
			ut_tab_add(t, sqlite3_column_name(s, c), false);
	} else if (ncol > 0 && fmt == Q_CSV) {
		for (int c = 0; c < ncol; c++) {
			const char *n = sqlite3_column_name(s, c);
			printf("%s", c ? "," : "");
			csv_text((const unsigned char *)n, (int)strlen(n));
		}
		putchar('\n');
	} else if (ncol > 0) {
		putchar('[');
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (fmt == Q_TABLE) {
			for (int c = 0; c < ncol; c++)
				if (table_cell(t, s, c)) {
					ut_tab_free(t);
					return -2;
				}
		} else if (fmt == Q_CSV) {
			for (int c = 0; c < ncol; c++) {
				if (c)
					putchar(',');
				csv_cell(s, c);
			}
			putchar('\n');
		} else {
			fputs(rows ? ",\n {" : "\n {", stdout);
			for (int c = 0; c < ncol; c++) {
				const char *n = sqlite3_column_name(s, c);
				if (c)
					putchar(',');
				json_str((const unsigned char *)n,
					 (int)strlen(n));
				putchar(':');
				json_cell(s, c);
			}
			putchar('}');
		}
		rows++;
	}
	if (t)
		ut_tab_free(t);
	if (ncol > 0 && fmt == Q_JSON)
		fputs(rows ? "\n]\n" : "]\n", stdout);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int query_run(int argc, char **argv)
{
	const char *pos[2];
	int npos = 0;
	enum qfmt fmt = Q_TABLE;
	bool opts = true;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts && !strcmp(a, "--")) {
			opts = false;
		} else if (opts && !strcmp(a, "--csv")) {
			fmt = Q_CSV;
		} else if (opts && !strcmp(a, "--json")) {
			fmt = Q_JSON;
		} else if (opts && a[0] == '-' && a[1]) {
			ut_error("query", "unknown option '%s'; see 'unitrace "
					  "query --help'", a);
			return 2;
		} else if (npos < 2) {
			pos[npos++] = a;
		} else {
			ut_error("query", "unexpected argument '%s' (quote the "
					  "SQL as one argument)", a);
			return 2;
		}
	}
	if (npos < 2) {
		ut_error("query", "%s; usage: unitrace query [--csv | --json] "
				  "[--] DB SQL",
			 npos ? "no SQL given" : "no database given");
		return 2;
	}
	ut_tracedb_t *tdb = ut_tracedb_open_cmd("query", pos[0]);
	if (!tdb)
		return 1;
	sqlite3 *db = ut_tracedb_sqlite(tdb);
	const char *sql = pos[1];
	bool first_set = true;
	int rc = 0;
	while (sql && *sql) {
		sqlite3_stmt *s = NULL;
		const char *tail = NULL;
		if (sqlite3_prepare_v2(db, sql, -1, &s, &tail) != SQLITE_OK) {
			rc = -1;
			break;
		}
		sql = tail;
		if (!s) /* whitespace or a comment */
			continue;
		rc = run_stmt(s, fmt, &first_set);
		sqlite3_finalize(s);
		if (rc)
			break;
	}
	fflush(stdout);
	if (rc == -2)
		ut_error("query", "out of memory");
	else if (rc)
		ut_error("query", "%s", sqlite3_errmsg(db));
	ut_tracedb_close(tdb);
	return rc ? 1 : 0;
}

const struct ut_cmd ut_cmd_query = {
	.name = "query",
	.summary = "run SQL read-only against a trace database",
	.usage = query_usage,
	.run = query_run,
};
