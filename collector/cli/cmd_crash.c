/*
 * unitrace crash: the crashes of a trace database, and one crash in
 * detail (what happened, registers, backtrace, the last events of each
 * vCPU, the core file and how to open it).
 *
 * Everything read from the database may come from a hostile guest (the
 * reason, the raw record, event strings) or from a damaged file: text is
 * printed with control characters escaped, the raw record is used only if
 * it has the right size and magic, and the core file is checked with
 * ut_core_check (bounded reads) before it is described.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "backtrace.h"
#include "cli.h"
#include "collector.h"
#include "core.h"
#include "tracedb.h"

static const char crash_usage[] =
	"usage: unitrace crash [-n N] DB [ID]\n"
	"       unitrace crash --gdb DB ID [-- GDB-ARGS...]\n"
	"\n"
	"Without ID: list the guest crashes recorded in the trace database\n"
	"DB, one line each: crash id, guest, time (seconds of the guest's\n"
	"monotonic clock), what happened (signal, trap or panic), the\n"
	"faulting address and the core file.\n"
	"\n"
	"With ID: show crash ID in detail: the signal or trap and its code\n"
	"by name, the faulting address, the reason the guest gave, the\n"
	"registers, the backtrace the collector stored (and how it was\n"
	"obtained: fp = frame-pointer walk, cfi-core / cfi-pid = libdw's CFI\n"
	"unwinder), the last events before the crash on each vCPU of the\n"
	"guest with their fields, the core file (whether it is still there\n"
	"and complete, its size and disk use) and the gdb command that\n"
	"opens it.\n"
	"\n"
	"With --gdb: run gdb on crash ID's core file and the guest's program\n"
	"(as 'coredumpctl gdb' does), with GDB-ARGS after them (for example\n"
	"-- -batch -ex 'thread apply all bt').\n"
	"\n"
	"Options:\n"
	"  -n N        events to show per vCPU (default 10, 0 for none)\n"
	"  --gdb       open the core in gdb instead of printing\n"
	"  -h, --help  show this help\n"
	"\n"
	"Exit status: 0 success; 1 the database cannot be read, there is no\n"
	"crash ID, or the crash's core file is missing, truncated or\n"
	"garbled (the rest is still shown); 2 usage.  With --gdb, gdb's own\n"
	"status, or 1 if the core is unusable or gdb cannot be run.\n";

#define CMD "crash"

/* ---- names ------------------------------------------------------------- */

static const char *signal_name(int sig)
{
	static const char *const names[] = {
		[SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",
		[SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
		[SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT",
		[SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",
		[SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1",
		[SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
		[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM",
		[SIGTERM] = "SIGTERM", [SIGSTKFLT] = "SIGSTKFLT",
		[SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
		[SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP",
		[SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU",
		[SIGURG] = "SIGURG",   [SIGXCPU] = "SIGXCPU",
		[SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM",
		[SIGPROF] = "SIGPROF", [SIGWINCH] = "SIGWINCH",
		[SIGIO] = "SIGIO",     [SIGPWR] = "SIGPWR",
		[SIGSYS] = "SIGSYS",
	};

	if (sig > 0 && (size_t)sig < sizeof(names) / sizeof(names[0]) &&
	    names[sig])
		return names[sig];
	return NULL;
}

struct code_name {
	int sig, code;
	const char *name, *what;
};

static const struct code_name code_names[] = {
	{ SIGSEGV, 1, "SEGV_MAPERR", "address not mapped" },
	{ SIGSEGV, 2, "SEGV_ACCERR", "no permission for the access" },
	{ SIGSEGV, 3, "SEGV_BNDERR", "bounds check failed" },
	{ SIGSEGV, 4, "SEGV_PKUERR", "protection key check failed" },
	{ SIGBUS, 1, "BUS_ADRALN", "misaligned address" },
	{ SIGBUS, 2, "BUS_ADRERR", "nonexistent physical address" },
	{ SIGBUS, 3, "BUS_OBJERR", "object-specific hardware error" },
	{ SIGBUS, 4, "BUS_MCEERR_AR", "machine check, action required" },
	{ SIGBUS, 5, "BUS_MCEERR_AO", "machine check, action optional" },
	{ SIGILL, 1, "ILL_ILLOPC", "illegal opcode" },
	{ SIGILL, 2, "ILL_ILLOPN", "illegal operand" },
	{ SIGILL, 3, "ILL_ILLADR", "illegal addressing mode" },
	{ SIGILL, 4, "ILL_ILLTRP", "illegal trap" },
	{ SIGILL, 5, "ILL_PRVOPC", "privileged opcode" },
	{ SIGILL, 6, "ILL_PRVREG", "privileged register" },
	{ SIGILL, 7, "ILL_COPROC", "coprocessor error" },
	{ SIGILL, 8, "ILL_BADSTK", "internal stack error" },
	{ SIGFPE, 1, "FPE_INTDIV", "integer divide by zero" },
	{ SIGFPE, 2, "FPE_INTOVF", "integer overflow" },
	{ SIGFPE, 3, "FPE_FLTDIV", "floating-point divide by zero" },
	{ SIGFPE, 4, "FPE_FLTOVF", "floating-point overflow" },
	{ SIGFPE, 5, "FPE_FLTUND", "floating-point underflow" },
	{ SIGFPE, 6, "FPE_FLTRES", "floating-point inexact result" },
	{ SIGFPE, 7, "FPE_FLTINV", "invalid floating-point operation" },
	{ SIGFPE, 8, "FPE_FLTSUB", "subscript out of range" },
	{ SIGTRAP, 1, "TRAP_BRKPT", "breakpoint" },
	{ SIGTRAP, 2, "TRAP_TRACE", "trace trap" },
	{ 0, 0, "SI_USER", "sent by kill()" },
	{ 0, 0x80, "SI_KERNEL", "sent by the kernel" },
	{ 0, -1, "SI_QUEUE", "sent by sigqueue()" },
	{ 0, -2, "SI_TIMER", "timer expired" },
	{ 0, -6, "SI_TKILL", "sent by tkill()/raise()/abort()" },
};

static const struct code_name *code_name(int sig, int code)
{
	for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++)
		if (code_names[i].sig == sig && code_names[i].code == code)
			return &code_names[i];
	/* generic codes (<= 0 and SI_KERNEL) apply to every signal */
	if (code <= 0 || code == 0x80)
		for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]);
		     i++)
			if (!code_names[i].sig && code_names[i].code == code)
				return &code_names[i];
	return NULL;
}

static const char *trap_name(int v)
{
	static const char *const names[] = {
		[0] = "#DE divide error",
		[1] = "#DB debug",
		[2] = "NMI",
		[3] = "#BP breakpoint",
		[4] = "#OF overflow",
		[5] = "#BR bound range exceeded",
		[6] = "#UD invalid opcode",
		[7] = "#NM device not available",
		[8] = "#DF double fault",
		[10] = "#TS invalid TSS",
		[11] = "#NP segment not present",
		[12] = "#SS stack-segment fault",
		[13] = "#GP general protection fault",
		[14] = "#PF page fault",
		[16] = "#MF x87 floating-point error",
		[17] = "#AC alignment check",
		[18] = "#MC machine check",
		[19] = "#XM SIMD floating-point error",
		[20] = "#VE virtualization exception",
		[21] = "#CP control protection",
	};

	if (v >= 0 && (size_t)v < sizeof(names) / sizeof(names[0]) && names[v])
		return names[v];
	return NULL;
}

/* "SIGSEGV", "trap 14", "panic": short form for the list. */
static void what_short(char *buf, size_t len, const char *kind, int sig)
{
	if (kind && !strcmp(kind, "panic")) {
		snprintf(buf, len, "panic");
	} else if (kind && !strcmp(kind, "trap")) {
		const char *t = trap_name(sig);
		if (t && t[0] == '#') /* "#PF (14)" */
			snprintf(buf, len, "%.*s (%d)", (int)strcspn(t, " "), t,
				 sig);
		else
			snprintf(buf, len, "trap %d", sig);
	} else {
		const char *n = signal_name(sig);
		if (n)
			snprintf(buf, len, "%s", n);
		else
			snprintf(buf, len, "signal %d", sig);
	}
}

/* ---- output helpers ---------------------------------------------------- */

/* Print (s) (n bytes, or up to NUL if n < 0) with control characters
 * escaped (ut_text_escape). */
static void put_clean(const char *s, int n)
{
	char buf[4 * 256 + 1];
	size_t left = n < 0 ? (s ? strlen(s) : 0) : (size_t)n;

	if (!s) {
		fputs("-", stdout);
		return;
	}
	while (left) {
		size_t k = left < 256 ? left : 256;
		/* whole UTF-8 sequences per piece: back off a cut one */
		for (size_t b = 0; k < left && b < 3 && k > 1 &&
				   ((unsigned char)s[k] & 0xc0) == 0x80; b++)
			k--;
		ut_text_escape(buf, sizeof(buf), s, k);
		fputs(buf, stdout);
		s += k;
		left -= k;
	}
}

static const char *col_text(sqlite3_stmt *s, int c)
{
	return (const char *)sqlite3_column_text(s, c);
}

/* (path) quoted for a POSIX shell if it needs it. */
static void put_shell_word(const char *path)
{
	bool plain = *path != 0;

	for (const char *p = path; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789/._-+,:=@%",
			    *p))
			plain = false;
	if (plain) {
		put_clean(path, -1);
		return;
	}
	putchar('\'');
	for (const char *p = path; *p;) {
		size_t k = strcspn(p, "'");
		put_clean(p, (int)k); /* runs between quotes: UTF-8 kept */
		p += k;
		if (*p == '\'')
			fputs("'\\''", stdout), p++;
	}
	putchar('\'');
}

static void fmt_bytes(char *buf, size_t len, uint64_t b)
{
	if (b < 1024)
		snprintf(buf, len, "%llu B", (unsigned long long)b);
	else if (b < 1024 * 1024)
		snprintf(buf, len, "%.1f KiB", (double)b / 1024);
	else if (b < 1024ull * 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", (double)b / (1024 * 1024));
	else
		snprintf(buf, len, "%.2f GiB", (double)b / (1024.0 * 1024 * 1024));
}

/* ---- the database ------------------------------------------------------- */

/* Does the database have the crash columns and crash_frames (written by a
 * collector with crash capture)?  1 yes, 0 no, -1 error. */
static int has_crash_details(sqlite3 *db)
{
	int col = ut_tracedb_has_column(db, "crashes", "record");
	int tab = ut_tracedb_has_table(db, "crash_frames");

	return col < 0 || tab < 0 ? -1 : col && tab;
}

static int list_crashes(sqlite3 *db, const char *path, bool ext)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(
		db,
		ext ? "SELECT c.id, c.guest_id, g.name, c.ts, c.signal, "
		      "c.kind, c.fault_addr, c.core_path, c.reason "
		      "FROM crashes c LEFT JOIN guests g ON g.id = c.guest_id "
		      "ORDER BY c.id"
		    : "SELECT c.id, c.guest_id, g.name, c.ts, c.signal, "
		      "NULL, c.fault_addr, c.core_path, c.reason "
		      "FROM crashes c LEFT JOIN guests g ON g.id = c.guest_id "
		      "ORDER BY c.id",
		-1, &s, NULL);
	if (rc != SQLITE_OK)
		return -1;
	ut_tab_t *t = ut_tab_new(8);
	if (!t) {
		sqlite3_finalize(s);
		return -1;
	}
	static const char *const hdr[] = { "ID",   "GUEST", "NAME",
					   "TIME", "WHAT",  "FAULT_ADDR",
					   "CORE", "REASON" };
	int rows = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char buf[64];
		if (!rows++)
			for (int i = 0; i < 8; i++)
				ut_tab_add(t, hdr[i], i < 2);
		ut_tab_addf(t, true, "%lld", sqlite3_column_int64(s, 0));
		ut_tab_addf(t, true, "%lld", sqlite3_column_int64(s, 1));
		ut_tab_add(t, col_text(s, 2) ? col_text(s, 2) : "?", false);
		if (sqlite3_column_type(s, 3) == SQLITE_NULL) {
			ut_tab_add(t, "-", false);
		} else {
			ut_fmt_ts(buf, sizeof(buf), sqlite3_column_int64(s, 3));
			ut_tab_add(t, buf, false);
		}
		what_short(buf, sizeof(buf), col_text(s, 5),
			   sqlite3_column_int(s, 4));
		ut_tab_add(t, buf, false);
		if (sqlite3_column_type(s, 6) == SQLITE_NULL)
			ut_tab_add(t, "-", false);
		else
			ut_tab_addf(t, false, "0x%llx",
				    (unsigned long long)sqlite3_column_int64(s,
									     6));
		ut_tab_add(t, col_text(s, 7) ? col_text(s, 7) : "-", false);
		ut_tab_add(t, col_text(s, 8) ? col_text(s, 8) : "", false);
	}
	ut_tab_free(t);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -1;
	if (!rows)
		printf("no crashes recorded in %s\n", path);
	return 0;
}

/* ---- one crash ------------------------------------------------------------ */

struct crash {
	int64_t id, guest;
	bool has_ts;
	int64_t ts;
	int sig, code;
	bool has_code;
	char kind[16];
	uint64_t fault;
	bool has_fault;
	char reason[UT_CRASH_REASON_LEN * 4 + 1];
	bool has_reason;
	char *registers, *core_path, *elf_path, *bt_method, *note,
		*backtrace, *cmdline;
	int64_t uid;
	bool has_uid;
	int64_t vcpu, tid;
	bool has_vcpu, has_tid;
	bool rec_ok;
	struct ut_crash_rec rec;
	/* the guest */
	char gname[UT_NAME_LEN * 4 + 1], platform[32], build_id[80];
	int64_t pid, start_realtime, clock_ns_ref;
	bool has_clock;
};

static char *dup_col(sqlite3_stmt *s, int c)
{
	const char *t = col_text(s, c);
	return t ? strdup(t) : NULL;
}

static void crash_free(struct crash *c)
{
	free(c->registers);
	free(c->core_path);
	free(c->elf_path);
	free(c->bt_method);
	free(c->note);
	free(c->backtrace);
	free(c->cmdline);
}

static void copy_col(sqlite3_stmt *s, int col, char *dst, size_t len)
{
	const char *t = col_text(s, col);
	snprintf(dst, len, "%s", t ? t : "");
}

/* Load crash (id).  0, 1 if there is no such crash, -1 on error. */
static int crash_load(sqlite3 *db, int64_t id, bool ext, struct crash *c)
{
	sqlite3_stmt *s;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = sqlite3_prepare_v2(
		db,
		ext ? "SELECT c.id, c.guest_id, c.ts, c.signal, c.code, c.kind, "
		      "c.fault_addr, c.reason, c.registers, c.core_path, "
		      "c.elf_path, c.bt_method, c.note, c.backtrace, c.vcpu, "
		      "c.tid, c.record, g.name, g.platform, g.pid, g.build_id, "
		      "g.start_realtime, g.clock_ns_ref "
		      "FROM crashes c LEFT JOIN guests g ON g.id = c.guest_id "
		      "WHERE c.id = ?1"
		    : "SELECT c.id, c.guest_id, c.ts, c.signal, NULL, NULL, "
		      "c.fault_addr, c.reason, c.registers, c.core_path, "
		      "NULL, NULL, NULL, c.backtrace, NULL, NULL, NULL, g.name, "
		      "g.platform, g.pid, g.build_id, g.start_realtime, "
		      "g.clock_ns_ref "
		      "FROM crashes c LEFT JOIN guests g ON g.id = c.guest_id "
		      "WHERE c.id = ?1",
		-1, &s, NULL);
	if (rc != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(s);
		return rc == SQLITE_DONE ? 1 : -1;
	}
	c->id = sqlite3_column_int64(s, 0);
	c->guest = sqlite3_column_int64(s, 1);
	c->has_ts = sqlite3_column_type(s, 2) != SQLITE_NULL;
	c->ts = sqlite3_column_int64(s, 2);
	c->sig = sqlite3_column_int(s, 3);
	c->has_code = sqlite3_column_type(s, 4) != SQLITE_NULL;
	c->code = sqlite3_column_int(s, 4);
	copy_col(s, 5, c->kind, sizeof(c->kind));
	c->has_fault = sqlite3_column_type(s, 6) != SQLITE_NULL;
	c->fault = (uint64_t)sqlite3_column_int64(s, 6);
	c->has_reason = sqlite3_column_type(s, 7) != SQLITE_NULL;
	copy_col(s, 7, c->reason, sizeof(c->reason));
	c->registers = dup_col(s, 8);
	c->core_path = dup_col(s, 9);
	c->elf_path = dup_col(s, 10);
	c->bt_method = dup_col(s, 11);
	c->note = dup_col(s, 12);
	c->backtrace = dup_col(s, 13);
	c->has_vcpu = sqlite3_column_type(s, 14) != SQLITE_NULL;
	c->vcpu = sqlite3_column_int64(s, 14);
	c->has_tid = sqlite3_column_type(s, 15) != SQLITE_NULL;
	c->tid = sqlite3_column_int64(s, 15);
	if (sqlite3_column_type(s, 16) == SQLITE_BLOB &&
	    sqlite3_column_bytes(s, 16) == (int)sizeof(c->rec)) {
		memcpy(&c->rec, sqlite3_column_blob(s, 16), sizeof(c->rec));
		c->rec_ok = c->rec.magic == UT_CRASH_MAGIC &&
			    c->rec.arch == UT_ARCH_X86_64;
	}
	copy_col(s, 17, c->gname, sizeof(c->gname));
	copy_col(s, 18, c->platform, sizeof(c->platform));
	c->pid = sqlite3_column_int64(s, 19);
	copy_col(s, 20, c->build_id, sizeof(c->build_id));
	c->has_clock = sqlite3_column_type(s, 21) != SQLITE_NULL &&
		       sqlite3_column_type(s, 22) != SQLITE_NULL;
	c->start_realtime = sqlite3_column_int64(s, 21);
	c->clock_ns_ref = sqlite3_column_int64(s, 22);
	sqlite3_finalize(s);
	if (!c->kind[0])
		snprintf(c->kind, sizeof(c->kind), "%s",
			 c->rec_ok ? ut_crash_kind_name(c->rec.kind) : "signal");
	if (!c->has_code && c->rec_ok) {
		c->has_code = true;
		c->code = c->rec.code;
	}
	/* the process (hosted; databases from this version on) */
	if (ext && ut_tracedb_has_column(db, "crashes", "cmdline") > 0 &&
	    sqlite3_prepare_v2(db, "SELECT cmdline, uid FROM crashes WHERE "
			       "id = ?1", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, id);
		if (sqlite3_step(s) == SQLITE_ROW) {
			c->cmdline = dup_col(s, 0);
			c->has_uid = sqlite3_column_type(s, 1) != SQLITE_NULL;
			c->uid = sqlite3_column_int64(s, 1);
		}
		sqlite3_finalize(s);
	}
	return 0;
}

/* One frame of a crash_frames / crash_threads row: columns c.. are idx,
 * pc, function, offset, file, line, module. */
static void put_frame(sqlite3_stmt *s, int c, const char *indent)
{
	ut_frame_t f;
	char line[800];

	memset(&f, 0, sizeof(f));
	f.pc = (uint64_t)sqlite3_column_int64(s, c + 1);
	copy_col(s, c + 2, f.function, sizeof(f.function));
	f.offset = (uint64_t)sqlite3_column_int64(s, c + 3);
	copy_col(s, c + 4, f.file, sizeof(f.file));
	f.line = sqlite3_column_int(s, c + 5);
	copy_col(s, c + 6, f.module, sizeof(f.module));
	ut_bt_format_frame(&f, (uint32_t)sqlite3_column_int(s, c), line,
			   sizeof(line));
	printf("%s%s\n", indent, line);
}

static void show_what(const struct crash *c)
{
	printf("  what:       ");
	if (!strcmp(c->kind, "panic")) {
		printf("panic (the guest called ut_panic)\n");
	} else if (!strcmp(c->kind, "trap")) {
		const char *t = trap_name(c->sig);
		printf("CPU exception %d%s%s%s", c->sig, t ? " (" : "",
		       t ? t : "", t ? ")" : "");
		if (c->has_code) {
			printf(", error code 0x%x", (unsigned)c->code);
			if (c->sig == 14)
				printf(" (%s, %s, %s%s)",
				       c->code & 1 ? "protection violation"
						   : "page not present",
				       c->code & 2 ? "write" : "read",
				       c->code & 4 ? "user mode"
						   : "kernel mode",
				       c->code & 16 ? ", instruction fetch"
						    : "");
		}
		putchar('\n');
	} else {
		const char *n = signal_name(c->sig);
		printf("signal %s (%d)", n ? n : "?", c->sig);
		if (c->sig > 0 && c->sig < 65)
			printf(": %s", strsignal(c->sig));
		if (c->has_code) {
			const struct code_name *cn = code_name(c->sig, c->code);
			printf(", code %s (%d)%s%s", cn ? cn->name : "?",
			       c->code, cn ? ": " : "", cn ? cn->what : "");
		}
		putchar('\n');
	}
}

/* The wall-clock time (Unix ns) of guest time (ts), if the guest's clock
 * references are known and the arithmetic does not overflow (the values
 * come from the file). */
static bool wall_of(const struct crash *c, int64_t ts, int64_t *wall)
{
	int64_t d;

	return c->has_clock &&
	       !__builtin_sub_overflow(ts, c->clock_ns_ref, &d) &&
	       !__builtin_add_overflow(c->start_realtime, d, wall) &&
	       *wall > 0;
}

/* "2026-12-02 18:39:54.590245 UTC" (date) or "18:39:54.590245123" */
static bool fmt_wall(char *buf, size_t len, int64_t wall, bool date)
{
	time_t secs = (time_t)(wall / 1000000000);
	struct tm tm;
	char hms[48];

	if (!gmtime_r(&secs, &tm) ||
	    !strftime(hms, sizeof(hms), date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S",
		      &tm))
		return false;
	if (date)
		snprintf(buf, len, "%s.%06d UTC", hms,
			 (int)(wall % 1000000000 / 1000));
	else
		snprintf(buf, len, "%s.%09d", hms, (int)(wall % 1000000000));
	return true;
}

/* Does the guest's reason only say what the "what" line says?  The hosted
 * handlers write "segmentation fault (SIGSEGV)"; a Xen guest "CPU
 * exception ...". */
static bool reason_restates(const struct crash *c)
{
	const char *n = signal_name(c->sig);
	size_t rl = strlen(c->reason), nl = n ? strlen(n) : 0;

	if (!strcmp(c->kind, "signal"))
		return !strcmp(c->reason, "fatal signal") ||
		       (n && rl > nl + 2 && c->reason[rl - 1] == ')' &&
			c->reason[rl - nl - 2] == '(' &&
			!strncmp(c->reason + rl - nl - 1, n, nl));
	if (!strcmp(c->kind, "trap"))
		return !strncmp(c->reason, "CPU exception", 13);
	return false;
}

/* "where:": the first frame of the primary backtrace in the guest's own
 * program (an abort() or a fault in a library lands in libc first), else
 * the first frame with a symbol; when that is not frame 0, frame 0 is
 * named after it. */
static void show_where(sqlite3 *db, const struct crash *c, bool ext)
{
	sqlite3_stmt *s;
	char f0[160] = "";
	int64_t pick = -1, first_sym = -1;
	const char *prog = c->elf_path ? strrchr(c->elf_path, '/') : NULL;

	prog = prog ? prog + 1 : c->elf_path;
	if (!ext || !c->bt_method ||
	    sqlite3_prepare_v2(db,
			       "SELECT idx, function, module FROM crash_frames "
			       "WHERE crash_id = ?1 AND method = ?2 ORDER BY "
			       "idx LIMIT 64",
			       -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, c->id);
	sqlite3_bind_text(s, 2, c->bt_method, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *fn = col_text(s, 1), *mod = col_text(s, 2);
		const char *base = mod ? strrchr(mod, '/') : NULL;
		int64_t idx = sqlite3_column_int64(s, 0);
		base = base ? base + 1 : mod;
		if (!fn || !*fn)
			continue;
		if (idx == 0)
			snprintf(f0, sizeof(f0), "%s (%s)", fn,
				 base ? base : "?");
		if (first_sym < 0)
			first_sym = idx;
		if (prog && base && !strcmp(base, prog)) {
			pick = idx;
			break;
		}
	}
	sqlite3_finalize(s);
	if (pick < 0)
		pick = first_sym;
	if (pick < 0 ||
	    sqlite3_prepare_v2(db,
			       "SELECT pc, function, offset, file, line, module "
			       "FROM crash_frames WHERE crash_id = ?1 AND "
			       "method = ?2 AND idx = ?3",
			       -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, c->id);
	sqlite3_bind_text(s, 2, c->bt_method, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, pick);
	if (sqlite3_step(s) == SQLITE_ROW) {
		const char *file = col_text(s, 3), *mod = col_text(s, 5);
		printf("  where:      ");
		put_clean(col_text(s, 1), -1);
		printf("+0x%llx", (unsigned long long)sqlite3_column_int64(s, 2));
		if (file && *file) {
			printf(" at ");
			put_clean(file, -1);
			if (sqlite3_column_int(s, 4) > 0)
				printf(":%d", sqlite3_column_int(s, 4));
		}
		if (mod && *mod) {
			const char *b = strrchr(mod, '/');
			printf(" (");
			put_clean(b ? b + 1 : mod, -1);
			putchar(')');
		}
		if (pick > 0) {
			printf(", frame #%lld", (long long)pick);
			if (f0[0]) {
				printf(" (frame #0: ");
				put_clean(f0, -1);
				putchar(')');
			}
		}
		putchar('\n');
	}
	sqlite3_finalize(s);
}

static void show_header(sqlite3 *db, const struct crash *c, bool ext)
{
	printf("crash %lld of guest %lld \"", (long long)c->id,
	       (long long)c->guest);
	put_clean(c->gname, -1);
	printf("\" (");
	put_clean(c->platform[0] ? c->platform : "?", -1);
	printf(" %s %lld)\n",
	       !strcmp(c->platform, "xen") ? "domain" : "pid",
	       (long long)c->pid);
	show_what(c);
	printf("  fault addr: ");
	if (c->has_fault)
		printf("0x%016" PRIx64 "\n", c->fault);
	else
		printf("-\n");
	show_where(db, c, ext);
	if (c->has_reason && !reason_restates(c)) {
		printf("  %s     \"", !strcmp(c->kind, "panic") ? "message:"
							 : "reason: ");
		put_clean(c->reason, -1);
		printf("\"\n");
	}
	printf("  when:       ");
	if (c->has_ts) {
		char buf[48], when[64];
		int64_t wall;
		if (wall_of(c, c->ts, &wall) &&
		    fmt_wall(when, sizeof(when), wall, true))
			printf("%s, ", when);
		ut_fmt_ts(buf, sizeof(buf), c->ts);
		printf("%s s on the guest's monotonic clock\n", buf);
	} else {
		printf("unknown\n");
	}
	if (c->has_vcpu || c->has_tid) {
		printf("  context:   ");
		if (c->has_vcpu)
			printf(" vCPU %lld", (long long)c->vcpu);
		if (c->has_tid && c->tid)
			printf("%s thread %lld", c->has_vcpu ? "," : "",
			       (long long)c->tid);
		putchar('\n');
	}
	if (c->elf_path) {
		printf("  program:    ");
		put_clean(c->elf_path, -1);
		putchar('\n');
	}
	if (c->cmdline) {
		printf("  command:    ");
		put_clean(c->cmdline, -1);
		putchar('\n');
	}
	if (c->has_uid) {
		struct passwd pw, *pp = NULL;
		char pbuf[1024];
		printf("  user:       ");
		if (c->uid >= 0 && c->uid <= UINT32_MAX &&
		    getpwuid_r((uid_t)c->uid, &pw, pbuf, sizeof(pbuf), &pp) == 0 &&
		    pp) {
			put_clean(pp->pw_name, -1);
			printf(" (uid %lld)\n", (long long)c->uid);
		} else {
			printf("uid %lld\n", (long long)c->uid);
		}
	}
	if (c->note) {
		printf("  note:       ");
		put_clean(c->note, -1);
		putchar('\n');
	}
}

/* The stacks of the threads that did not crash (crash_threads). */
static void show_threads(sqlite3 *db, const struct crash *c)
{
	sqlite3_stmt *s;
	int64_t cur = 0;
	bool any = false;

	if (ut_tracedb_has_table(db, "crash_threads") <= 0 ||
	    sqlite3_prepare_v2(db,
			       "SELECT tid, idx, pc, function, offset, file, "
			       "line, module, (SELECT count(DISTINCT tid) FROM "
			       "crash_threads WHERE crash_id = ?1) FROM "
			       "crash_threads WHERE crash_id = ?1 ORDER BY tid, "
			       "idx",
			       -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, c->id);
	while (sqlite3_step(s) == SQLITE_ROW) {
		int64_t tid = sqlite3_column_int64(s, 0);
		if (!any)
			printf("\nthe other threads (%d):\n",
			       sqlite3_column_int(s, 8));
		if (!any || tid != cur)
			printf("  thread %lld:\n", (long long)tid);
		any = true;
		cur = tid;
		put_frame(s, 1, "    ");
	}
	sqlite3_finalize(s);
}

/* The modules of the core with their build ids (what the program and its
 * libraries were, whatever the files on disk are now). */
static void show_modules(const struct crash *c)
{
	enum { MAXMOD = 512 };
	ut_module_t *m;
	char err[256];
	int n;

	ut_core_info_t info;

	/* only a core that passes the bounded check goes to libdwfl */
	if (!c->core_path ||
	    ut_core_check(c->core_path, &info, err, sizeof(err)) ||
	    !(m = calloc(MAXMOD, sizeof(*m))))
		return;
	n = ut_core_modules(c->core_path, c->elf_path, m, MAXMOD, err,
			    sizeof(err));
	if (n > 0) {
		printf("\nmodules (from the core: load address, build id, "
		       "file):\n");
		for (int i = 0; i < n; i++) {
			printf("  0x%012" PRIx64 "  %-40s  ", m[i].start,
			       m[i].build_id[0] ? m[i].build_id : "-");
			put_clean(m[i].name, -1);
			putchar('\n');
		}
	}
	free(m);
}

static void show_registers(const struct crash *c)
{
	printf("\nregisters:\n");
	if (c->rec_ok) {
		char text[UT_CRASH_NREGS * 32];
		ut_crash_regs_text(c->rec.regs, text, sizeof(text));
		/* "name=0x..." words, 4 per line, aligned */
		int k = 0;
		for (char *w = strtok(text, " "); w; w = strtok(NULL, " ")) {
			char *eq = strchr(w, '=');
			if (!eq)
				continue;
			*eq = 0;
			printf("%s%8s 0x%016llx", k % 4 ? "  " : "  ", w,
			       strtoull(eq + 1, NULL, 16));
			if (++k % 4 == 0)
				putchar('\n');
		}
		if (k % 4)
			putchar('\n');
	} else if (c->registers) {
		printf("  ");
		put_clean(c->registers, -1);
		putchar('\n');
	} else {
		printf("  (not recorded)\n");
	}
}

/* Print the frames of (method) from crash_frames; returns how many. */
static int show_frames(sqlite3 *db, int64_t id, const char *method)
{
	sqlite3_stmt *s;
	int n = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT idx, pc, function, offset, file, line, "
			       "module FROM crash_frames WHERE crash_id = ?1 "
			       "AND method = ?2 ORDER BY idx",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, method, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		put_frame(s, 0, "  ");
		n++;
	}
	sqlite3_finalize(s);
	return n;
}

static void show_backtrace(sqlite3 *db, const struct crash *c, bool ext)
{
	printf("\nbacktrace");
	if (c->bt_method) {
		printf(" (");
		put_clean(c->bt_method, -1);
		putchar(')');
	}
	printf(":\n");
	int n = 0;
	if (ext && c->bt_method)
		n = show_frames(db, c->id, c->bt_method);
	if (n <= 0 && c->backtrace) {
		/* the stored text, line by line */
		const char *p = c->backtrace;
		while (*p) {
			size_t l = strcspn(p, "\n");
			printf("  ");
			put_clean(p, (int)l);
			putchar('\n');
			p += l + (p[l] == '\n');
		}
		n = 1;
	} else if (n > 0 && c->backtrace) {
		/* the stop reason ends the stored text: "(fp: ...)" */
		const char *last = strrchr(c->backtrace, '(');
		if (last && (last == c->backtrace || last[-1] == '\n')) {
			printf("  ");
			put_clean(last, (int)strcspn(last, "\n"));
			putchar('\n');
		}
	}
	if (n <= 0)
		printf("  (none stored)\n");
	if (!ext)
		return;
	/* the other unwinders' results, for comparison */
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db,
			       "SELECT method, count(*), count(function) FROM "
			       "crash_frames WHERE crash_id = ?1 AND method IS "
			       "NOT ?2 GROUP BY method ORDER BY method",
			       -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, c->id);
	if (c->bt_method)
		sqlite3_bind_text(s, 2, c->bt_method, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 2);
	while (sqlite3_step(s) == SQLITE_ROW) {
		printf("  also stored: ");
		put_clean(col_text(s, 0), -1);
		int nf = sqlite3_column_int(s, 1);
		printf(", %d frame%s, %d with a symbol (sqlite3: SELECT * FROM "
		       "crash_frames WHERE crash_id = %lld)\n",
		       nf, nf == 1 ? "" : "s", sqlite3_column_int(s, 2),
		       (long long)c->id);
	}
	sqlite3_finalize(s);
}

/* ---- last events --------------------------------------------------------- */

/* One field value (column c of s) as text, per the field's type. */
static void put_value(sqlite3_stmt *s, int c, const char *type, bool hex)
{
	switch (sqlite3_column_type(s, c)) {
	case SQLITE_NULL:
		fputs("-", stdout);
		break;
	case SQLITE_INTEGER: {
		int64_t v = sqlite3_column_int64(s, c);
		bool u = type && type[0] == 'u';
		if (hex)
			printf("0x%llx", (unsigned long long)v);
		else if (u)
			printf("%llu", (unsigned long long)v);
		else
			printf("%lld", (long long)v);
		break;
	}
	case SQLITE_FLOAT:
		printf("%.6g", sqlite3_column_double(s, c));
		break;
	case SQLITE_TEXT: {
		int n = sqlite3_column_bytes(s, c);
		putchar('"');
		put_clean(col_text(s, c), n > 60 ? 60 : n);
		printf("%s\"", n > 60 ? "..." : "");
		break;
	}
	default: {
		const unsigned char *b = sqlite3_column_blob(s, c);
		int n = sqlite3_column_bytes(s, c);
		printf("x'");
		for (int i = 0; b && i < n && i < 32; i++)
			printf("%02x", b[i]);
		printf("%s'", n > 32 ? "..." : "");
		break;
	}
	}
}

/* Rowids of the last (max) events of (lane) at or before (ts), newest
 * first, through the event_blocks index.  Returns how many, or -1. */
static int last_rowids(sqlite3 *db, int64_t lane, int64_t ts, int max,
		       int64_t *ids)
{
	sqlite3_stmt *b, *e;
	int n = 0, blocks = 0, rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT row_first, row_last FROM event_blocks "
			       "WHERE lane = ?1 AND ts_first <= ?2 "
			       "ORDER BY ts_first DESC",
			       -1, &b, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db,
			       "SELECT id FROM events WHERE id BETWEEN ?1 AND "
			       "?2 AND ts <= ?3 ORDER BY ts DESC, id DESC "
			       "LIMIT ?4",
			       -1, &e, NULL) != SQLITE_OK) {
		sqlite3_finalize(b);
		return -1;
	}
	sqlite3_bind_int64(b, 1, lane);
	sqlite3_bind_int64(b, 2, ts);
	/* Blocks of one lane follow each other in time; a few more than
	 * needed cover events whose clock stepped back a little. */
	while (n < max && (rc = sqlite3_step(b)) == SQLITE_ROW && blocks++ < 64) {
		sqlite3_bind_int64(e, 1, sqlite3_column_int64(b, 0));
		sqlite3_bind_int64(e, 2, sqlite3_column_int64(b, 1));
		sqlite3_bind_int64(e, 3, ts);
		sqlite3_bind_int(e, 4, max - n);
		while (n < max && sqlite3_step(e) == SQLITE_ROW)
			ids[n++] = sqlite3_column_int64(e, 0);
		sqlite3_reset(e);
	}
	sqlite3_finalize(b);
	sqlite3_finalize(e);
	return n;
}

static int show_event(sqlite3 *db, int64_t rowid, const struct crash *c,
		      bool has_ts)
{
	sqlite3_stmt *s, *f;

	if (sqlite3_prepare_v2(db,
			       "SELECT e.ts, e.seq, e.dur, t.name, t.kind, "
			       "e.type, e.a0, e.a1, e.a2, e.a3, e.a4, e.a5, "
			       "e.a6, e.a7 FROM events e LEFT JOIN event_types "
			       "t ON t.id = e.type WHERE e.id = ?1",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, rowid);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		return -1;
	}
	char ts[48], rel[48] = "";
	int64_t t = sqlite3_column_int64(s, 0), wall;
	if (!wall_of(c, t, &wall) || !fmt_wall(ts, sizeof(ts), wall, false))
		ut_fmt_ts(ts, sizeof(ts), t);
	if (has_ts)
		ut_fmt_dur(rel, sizeof(rel), (double)t - (double)c->ts);
	printf("    %s  %10s  #%-6lld ", ts, rel,
	       (long long)sqlite3_column_int64(s, 1));
	const char *name = col_text(s, 3);
	put_clean(name ? name : "?", -1);
	const char *kind = col_text(s, 4);
	if (kind && strcmp(kind, "instant")) {
		printf(" [");
		put_clean(kind, -1);
		putchar(']');
	}
	if (sqlite3_prepare_v2(db,
			       "SELECT idx, name, type, hex FROM event_fields "
			       "WHERE type_id = ?1 ORDER BY idx",
			       -1, &f, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(f, 1, sqlite3_column_int64(s, 5));
		while (sqlite3_step(f) == SQLITE_ROW) {
			int idx = sqlite3_column_int(f, 0);
			if (idx < 0 || idx > 7)
				continue;
			putchar(' ');
			put_clean(col_text(f, 1), -1);
			putchar('=');
			put_value(s, 6 + idx, col_text(f, 2),
				  sqlite3_column_int(f, 3) != 0);
		}
		sqlite3_finalize(f);
	}
	if (sqlite3_column_type(s, 2) != SQLITE_NULL) {
		char d[48];
		ut_fmt_dur(d, sizeof(d), (double)sqlite3_column_int64(s, 2));
		printf(" dur=%s", d);
	}
	putchar('\n');
	sqlite3_finalize(s);
	return 0;
}

/* The lost-event ranges of (lane) that begin at or after (from) and not
 * after the crash (all of them if from is INT64_MIN), oldest first. */
static sqlite3_stmt *lost_near(sqlite3 *db, const struct crash *c,
			       int64_t lane, int64_t from)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(db,
			       "SELECT ts_before, ts_after, count, reason, "
			       "seq_first FROM lost WHERE lane = ?1 AND "
			       "(ts_before IS NULL OR (ts_before >= ?2 AND "
			       "ts_before <= ?3)) ORDER BY ts_before, id "
			       "LIMIT 20",
			       -1, &s, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(s, 1, lane);
	sqlite3_bind_int64(s, 2, from);
	sqlite3_bind_int64(s, 3, c->has_ts ? c->ts : INT64_MAX);
	return s;
}

static void show_lost(sqlite3_stmt *l, const struct crash *c)
{
	char rel[48] = "?";
	const char *why = col_text(l, 3);

	if (c->has_ts && sqlite3_column_type(l, 0) != SQLITE_NULL)
		ut_fmt_dur(rel, sizeof(rel),
			   (double)sqlite3_column_int64(l, 0) - (double)c->ts);
	printf("    %18s  %10s  LOST %lld events (#%lld on; ", "", rel,
	       (long long)sqlite3_column_int64(l, 2),
	       (long long)sqlite3_column_int64(l, 4));
	if (why && !strcmp(why, "guest"))
		printf("dropped by the guest: its ring was full");
	else if (why && !strcmp(why, "overwrite"))
		printf("overwritten in the ring before they were read");
	else
		put_clean(why ? why : "?", -1);
	printf(")\n");
}

static int show_last_events(sqlite3 *db, const struct crash *c, int per_lane)
{
	sqlite3_stmt *s;
	int64_t *ids;
	int rc, lanes = 0, nidle = 0;
	char idle[256] = "";

	if (per_lane <= 0)
		return 0;
	ids = calloc((size_t)per_lane, sizeof(*ids));
	if (!ids)
		return -1;
	if (sqlite3_prepare_v2(db,
			       "SELECT id, vcpu, event_count FROM lanes WHERE "
			       "guest_id = ?1 ORDER BY vcpu",
			       -1, &s, NULL) != SQLITE_OK) {
		free(ids);
		return -1;
	}
	sqlite3_bind_int64(s, 1, c->guest);
	printf("\nlast events before the crash%s (%s, time relative to "
	       "the crash, sequence number, event, fields; events lost near "
	       "the crash as LOST):\n",
	       c->has_ts ? "" : " (crash time unknown: the last events)",
	       c->has_clock ? "UTC time" : "guest time");
	int64_t until = c->has_ts ? c->ts : INT64_MAX;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t lane = sqlite3_column_int64(s, 0);
		int64_t vcpu = sqlite3_column_int64(s, 1);
		bool here = c->has_vcpu && c->vcpu == vcpu;
		lanes++;
		int n = last_rowids(db, lane, until, per_lane, ids);
		if (n < 0) {
			rc = SQLITE_ERROR;
			break;
		}
		/* the oldest event shown: lost ranges from there on */
		int64_t from = INT64_MIN;
		if (n) {
			sqlite3_stmt *t;
			if (sqlite3_prepare_v2(db, "SELECT ts FROM events "
					       "WHERE id = ?1", -1, &t,
					       NULL) == SQLITE_OK) {
				sqlite3_bind_int64(t, 1, ids[n - 1]);
				if (sqlite3_step(t) == SQLITE_ROW)
					from = sqlite3_column_int64(t, 0);
				sqlite3_finalize(t);
			}
		}
		sqlite3_stmt *l = lost_near(db, c, lane, from);
		int lrc = l ? sqlite3_step(l) : SQLITE_DONE;
		if (!n && lrc != SQLITE_ROW && !here) {
			/* idle: one line for all of them */
			size_t k = strlen(idle);
			if (k < sizeof(idle) - 24)
				snprintf(idle + k, sizeof(idle) - k, "%s%lld",
					 nidle ? ", " : "", (long long)vcpu);
			else if (k < sizeof(idle) - 4)
				snprintf(idle + k, sizeof(idle) - k, ", ...");
			nidle++;
			sqlite3_finalize(l);
			continue;
		}
		printf("  vCPU %lld%s:\n", (long long)vcpu,
		       here ? " (crashed here)" : "");
		if (!n)
			printf("    (no events)\n");
		for (int i = n - 1; i >= 0 && rc != SQLITE_ERROR; i--) {
			/* the lost ranges that begin before this event */
			sqlite3_stmt *t;
			int64_t ts = INT64_MAX;
			if (lrc == SQLITE_ROW &&
			    sqlite3_prepare_v2(db, "SELECT ts FROM events "
					       "WHERE id = ?1", -1, &t,
					       NULL) == SQLITE_OK) {
				sqlite3_bind_int64(t, 1, ids[i]);
				if (sqlite3_step(t) == SQLITE_ROW)
					ts = sqlite3_column_int64(t, 0);
				sqlite3_finalize(t);
			}
			while (lrc == SQLITE_ROW &&
			       sqlite3_column_type(l, 0) != SQLITE_NULL &&
			       sqlite3_column_int64(l, 0) < ts) {
				show_lost(l, c);
				lrc = sqlite3_step(l);
			}
			if (show_event(db, ids[i], c, c->has_ts))
				rc = SQLITE_ERROR;
		}
		while (lrc == SQLITE_ROW) {
			show_lost(l, c);
			lrc = sqlite3_step(l);
		}
		sqlite3_finalize(l);
		if (rc == SQLITE_ERROR)
			break;
	}
	if (rc == SQLITE_DONE && nidle)
		printf("  vCPU%s %s: no events stored\n", nidle > 1 ? "s" : "",
		       idle);
	if (rc == SQLITE_DONE && !lanes)
		printf("  (the guest has no lanes: no events were stored)\n");
	sqlite3_finalize(s);
	free(ids);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- the core ------------------------------------------------------------ */

/* Returns 0 if the core is fine or none was recorded, 1 if it is missing
 * or damaged. */
static int show_core(const struct crash *c, const char *path)
{
	int bad = 0;

	printf("\ncore file: ");
	if (!c->core_path) {
		printf("none%s\n", c->note ? " (see the note above)" : "");
		return 0;
	}
	put_clean(c->core_path, -1);
	putchar('\n');
	ut_core_info_t info;
	char err[512], a[32], b[32], m[32];
	struct stat sb;
	if (stat(c->core_path, &sb)) {
		printf("  MISSING: %s (deleted or moved since the crash?)\n",
		       strerror(errno));
		ut_error(CMD, "core file %s of crash %lld: %s", c->core_path,
			 (long long)c->id, strerror(errno));
		return 1;
	}
	if (ut_core_check(c->core_path, &info, err, sizeof(err))) {
		printf("  DAMAGED: ");
		put_clean(err, -1);
		putchar('\n');
		ut_error(CMD, "%s", err);
		bad = 1;
	} else {
		fmt_bytes(m, sizeof(m), info.mem_bytes);
		/* whole as a file, but the capture says memory is missing */
		bool lacks = c->note && strstr(c->note, UT_CORE_INCOMPLETE);
		printf("  %s ELF core: %u thread%s, %u memory segments, "
		       "%s of guest memory%s\n",
		       lacks ? "INCOMPLETE" : "complete", info.nthreads, info.nthreads == 1 ? "" : "s",
		       info.nloads, m, lacks ? " (some of it unreadable "
		       "when captured: see the note)" : "");
		if (c->rec_ok && info.has_crash &&
		    memcmp(&info.crash, &c->rec, offsetof(struct ut_crash_rec,
							  ring_head))) {
			printf("  WARNING: its crash note differs from this "
			       "crash: it is the core of another crash\n");
			ut_error(CMD, "core file %s is not the core of crash "
				      "%lld",
				 c->core_path, (long long)c->id);
			bad = 1;
		}
	}
	fmt_bytes(a, sizeof(a), (uint64_t)sb.st_size);
	fmt_bytes(b, sizeof(b), (uint64_t)sb.st_blocks * 512u);
	printf("  size %s, %s on disk (sparse: untouched memory takes no "
	       "space)\n",
	       a, b);
	if (bad)
		return 1;
	printf("\nopen it with:\n  unitrace crash --gdb ");
	put_shell_word(path);
	printf(" %lld\n  or: gdb ", (long long)c->id);
	if (c->elf_path)
		put_shell_word(c->elf_path);
	else
		printf("PROGRAM");
	putchar(' ');
	put_shell_word(c->core_path);
	putchar('\n');
	if (!c->elf_path) {
		printf("  (PROGRAM: the guest's ELF file");
		if (c->build_id[0]) {
			printf(", build id ");
			put_clean(c->build_id, -1);
		}
		printf(")\n");
	} else {
		struct stat eb;
		if (stat(c->elf_path, &eb))
			printf("  (the program %s: %s)\n",
			       strerror(errno), "it was moved or rebuilt?");
	}
	return 0;
}

/* ---- the command ------------------------------------------------------------- */

/* --gdb: replace this process with gdb on the crash's program and core.
 * Returns only on failure (1), with the message printed. */
static int run_gdb(sqlite3 *db, const char *path,
		   int64_t id, bool ext, int nextra, char **extra)
{
	struct crash c;
	ut_core_info_t info;
	char err[512];
	int rc = crash_load(db, id, ext, &c);

	if (rc) {
		if (rc == 1)
			ut_error(CMD, "no crash %lld in %s (see 'unitrace crash "
				      "%s')",
				 (long long)id, path, path);
		return rc < 0 ? -1 : 1;
	}
	if (!c.core_path) {
		ut_error(CMD, "crash %lld has no core file%s%s", (long long)id,
			 c.note ? ": " : "", c.note ? c.note : "");
		crash_free(&c);
		return 1;
	}
	if (ut_core_check(c.core_path, &info, err, sizeof(err))) {
		ut_error(CMD, "%s", err);
		crash_free(&c);
		return 1;
	}
	char **argv = calloc((size_t)nextra + 4, sizeof(*argv));
	int k = 0;
	if (!argv) {
		ut_error(CMD, "out of memory");
		crash_free(&c);
		return 1;
	}
	argv[k++] = "gdb";
	struct stat sb;
	if (c.elf_path && stat(c.elf_path, &sb) == 0)
		argv[k++] = c.elf_path;
	else if (c.elf_path)
		ut_msg(CMD, "the program %s is gone (%s): gdb gets the core "
			    "alone", c.elf_path, strerror(errno));
	argv[k++] = c.core_path;
	for (int i = 0; i < nextra; i++)
		argv[k++] = extra[i];
	/* the database stays open: SQLite's descriptors are close-on-exec,
	 * and a failed exec returns here with everything still valid */
	fflush(stdout);
	execvp("gdb", argv);
	ut_error(CMD, "cannot run gdb: %s%s", strerror(errno),
		 errno == ENOENT ? " (install gdb: apt-get install gdb)" : "");
	free(argv);
	crash_free(&c);
	return 1;
}

static int show_crash(sqlite3 *db, const char *path, int64_t id, bool ext,
		      int per_lane)
{
	struct crash c;
	int rc = crash_load(db, id, ext, &c);

	if (rc == 1) {
		sqlite3_stmt *s;
		long long n = 0, lo = 0, hi = 0;
		if (sqlite3_prepare_v2(db,
				       "SELECT count(*), min(id), max(id) FROM "
				       "crashes",
				       -1, &s, NULL) == SQLITE_OK) {
			if (sqlite3_step(s) == SQLITE_ROW) {
				n = sqlite3_column_int64(s, 0);
				lo = sqlite3_column_int64(s, 1);
				hi = sqlite3_column_int64(s, 2);
			}
			sqlite3_finalize(s);
		}
		if (n)
			ut_error(CMD, "no crash %lld in %s (it has %lld "
				      "crash%s, ids %lld to %lld; see 'unitrace "
				      "crash %s')",
				 (long long)id, path, n, n == 1 ? "" : "es", lo,
				 hi, path);
		else
			ut_error(CMD, "no crash %lld in %s: it has no crashes",
				 (long long)id, path);
		return 1;
	}
	if (rc < 0)
		return -1;
	show_header(db, &c, ext);
	show_backtrace(db, &c, ext);
	show_threads(db, &c);
	if (show_last_events(db, &c, per_lane)) {
		crash_free(&c);
		return -1;
	}
	show_registers(&c);
	show_modules(&c);
	rc = show_core(&c, path);
	crash_free(&c);
	return rc;
}

static int crash_run(int argc, char **argv)
{
	const char *path = NULL, *ids = NULL;
	bool opts = true, gdb = false;
	long per_lane = 10;
	int nextra = 0;
	char **extra = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts && !strcmp(a, "--")) {
			opts = false;
		} else if (opts && !strcmp(a, "-n")) {
			char *end;
			if (i + 1 >= argc) {
				ut_error(CMD, "-n needs a number");
				return 2;
			}
			errno = 0;
			per_lane = strtol(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || per_lane < 0 ||
			    per_lane > 100000) {
				ut_error(CMD, "-n '%s': give a number of "
					      "events from 0 to 100000",
					 argv[i]);
				return 2;
			}
		} else if (opts && !strcmp(a, "--gdb")) {
			gdb = true;
		} else if (opts && a[0] == '-' && a[1]) {
			ut_error(CMD, "unknown option '%s'; see 'unitrace "
				      "crash --help'",
				 a);
			return 2;
		} else if (!path) {
			path = a;
		} else if (!ids) {
			ids = a;
		} else if (gdb) {
			if (!extra)
				extra = &argv[i];
			nextra++;
		} else {
			ut_error(CMD, "unexpected argument '%s'; see 'unitrace "
				      "crash --help'",
				 a);
			return 2;
		}
	}
	if (!path) {
		ut_error(CMD, "no database given; usage: unitrace crash [-n N] "
			      "DB [ID]");
		return 2;
	}
	int64_t id = 0;
	if (ids) {
		char *end;
		errno = 0;
		long long v = strtoll(ids, &end, 10);
		if (errno || *end || end == ids || v <= 0 || ids[0] == '+') {
			ut_error(CMD, "crash id '%s' is not a positive number "
				      "(see the ID column of 'unitrace crash "
				      "%s')",
				 ids, path);
			return 2;
		}
		id = v;
	}
	if (gdb && !ids) {
		ut_error(CMD, "--gdb needs a crash id: unitrace crash --gdb %s "
			      "ID (the IDs: unitrace crash %s)",
			 path, path);
		return 2;
	}
	ut_tracedb_t *tdb = ut_tracedb_open_cmd(CMD, path);
	if (!tdb)
		return 1;
	sqlite3 *db = ut_tracedb_sqlite(tdb);
	int rc, ext = has_crash_details(db);
	if (ext < 0)
		rc = -1;
	else if (gdb)
		rc = run_gdb(db, path, id, ext, nextra, extra);
	else if (!ids)
		rc = list_crashes(db, path, ext);
	else
		rc = show_crash(db, path, id, ext, (int)per_lane);
	if (rc < 0)
		ut_error(CMD, "reading %s: %s", path, sqlite3_errmsg(db));
	fflush(stdout);
	ut_tracedb_close(tdb);
	return rc ? 1 : 0;
}

const struct ut_cmd ut_cmd_crash = {
	.name = "crash",
	.summary = "show the crashes of a trace: backtrace, last events, core",
	.usage = crash_usage,
	.run = crash_run,
};
