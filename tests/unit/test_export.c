/*
 * The shared pieces of unitrace export (collector/cli/export.c): --from/--to
 * parsing, the temporary path, commit and abort of files and directories.
 * TAP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export.h"
#include "tap.h"

static void time_is(const char *s, long long want)
{
	int64_t ns = -7;
	int rc = ut_export_parse_time(s, &ns);
	ok(rc == 0 && ns == want, "time '%s' = %lld ns (got rc %d, %lld)", s,
	   want, rc, (long long)ns);
}

static void time_bad(const char *s)
{
	int64_t ns = 0;
	ok(ut_export_parse_time(s, &ns) == -1, "time '%s' is rejected", s);
}

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

int main(void)
{
	char buf[4096], dir[] = "/tmp/ut-test-export.XXXXXX";

	time_is("0", 0);
	time_is("1500", 1500);
	time_is("1500ns", 1500);
	time_is("10us", 10000);
	time_is("200ms", 200000000);
	time_is("1.5s", 1500000000);
	time_is("2.000000001s", 2000000001);
	time_is("0.0000000019s", 1); /* below a nanosecond: dropped */
	time_is("1.25ms", 1250000);
	time_is("0.5us", 500);
	time_is(".5s", 500000000);
	time_is("-3ms", -3000000);
	time_is("9223372036854775807", 9223372036854775807LL);
	time_is("3342.849393353s", 3342849393353LL);
	time_bad("");
	time_bad("s");
	time_bad("1.5");     /* a fraction of a nanosecond */
	time_bad("1.5 s");
	time_bad("1.5parsecs");
	time_bad("1e9");
	time_bad("9223372036854775808");
	time_bad("10000000000s");
	time_bad("99999999999999999999999");

	ok(ut_export_tmp_path("out.json", buf, sizeof(buf)) == 0 &&
		   strncmp(buf, ".out.json.tmp.", 14) == 0,
	   "tmp path of a bare name: %s", buf);
	ok(ut_export_tmp_path("/a/b/out.ctf/", buf, sizeof(buf)) == 0 &&
		   strncmp(buf, "/a/b/.out.ctf.tmp.", 18) == 0,
	   "tmp path of a directory with a trailing slash: %s", buf);
	ok(ut_export_tmp_path("/x", buf, sizeof(buf)) == 0 &&
		   strncmp(buf, "/.x.tmp.", 8) == 0,
	   "tmp path at the root: %s", buf);
	ok(ut_export_tmp_path("x", buf, 4) == -1, "tmp path too long: -1");

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	char fin[4200], tmp[4200], f[4300];
	/* a directory output: commit over a missing final, then an empty one */
	snprintf(fin, sizeof(fin), "%s/trace", dir);
	ut_export_tmp_path(fin, tmp, sizeof(tmp));
	mkdir(tmp, 0777);
	snprintf(f, sizeof(f), "%s/metadata", tmp);
	fclose(fopen(f, "w"));
	ok(ut_export_commit(tmp, fin) == 0 && !exists(tmp), "commit: a directory renamed");
	snprintf(f, sizeof(f), "%s/metadata", fin);
	ok(exists(f), "...with its files");
	/* over a non-empty final directory: refused, both left */
	mkdir(tmp, 0777);
	ok(ut_export_commit(tmp, fin) == -1 && exists(f),
	   "commit over a non-empty directory fails and keeps it");
	/* abort removes a tree */
	snprintf(f, sizeof(f), "%s/sub", tmp);
	mkdir(f, 0777);
	snprintf(f, sizeof(f), "%s/sub/stream_0", tmp);
	fclose(fopen(f, "w"));
	ut_export_abort(tmp);
	ok(!exists(tmp), "abort removes a directory tree");
	/* an empty final directory is replaced */
	snprintf(f, sizeof(f), "%s/metadata", fin);
	unlink(f);
	mkdir(tmp, 0777);
	ok(ut_export_commit(tmp, fin) == 0 && !exists(tmp),
	   "commit over an empty directory");
	rmdir(fin);
	/* a file output */
	snprintf(fin, sizeof(fin), "%s/t.json", dir);
	ut_export_tmp_path(fin, tmp, sizeof(tmp));
	fclose(fopen(tmp, "w"));
	ok(ut_export_commit(tmp, fin) == 0 && exists(fin) && !exists(tmp),
	   "commit: a file renamed");
	fclose(fopen(tmp, "w"));
	ut_export_abort(tmp);
	ok(!exists(tmp) && exists(fin), "abort removes the file, not the final one");
	ut_export_abort(tmp); /* nothing there: no harm */
	unlink(fin);
	ok(rmdir(dir) == 0, "nothing else left behind");
	return tap_done();
}
