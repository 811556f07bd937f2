/*
 * The replay driver: a main() for a fuzz target built without libFuzzer
 * (gcc, the project's flags, ASan in build-asan).  Runs each file named on
 * the command line, or each file of each directory named, through
 * LLVMFuzzerTestOneInput once, so the inputs the fuzzers found stay
 * regression tests of every test run (tests/e2e/fuzz_regress.sh).  Exit
 * status 0 when every input ran; a crash or a sanitizer report stops the
 * program with another status.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n_run;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "%s: cannot read\n", path);
		if (f)
			fclose(f);
		return 1;
	}
	/* at least one byte: a zero-length input is still a valid pointer */
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		fclose(f);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	n_run++;
	return 0;
}

static int run_path(const char *path)
{
	struct stat sb;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	DIR *d;

	if (stat(path, &sb) || !S_ISDIR(sb.st_mode))
		return run_file(path);
	if (!(d = opendir(path)))
		return run_file(path);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			char **nn = realloc(names, cap * sizeof(*names));
			if (!nn)
				abort();
			names = nn;
		}
		size_t l = strlen(path) + strlen(e->d_name) + 2;
		if (!(names[n] = malloc(l)))
			abort();
		snprintf(names[n++], l, "%s/%s", path, e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str); /* the same order each run */
	for (size_t i = 0; i < n; i++) {
		rc |= run_path(names[i]);
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;

	for (int i = 1; i < argc; i++)
		rc |= run_path(argv[i]);
	printf("# %d inputs replayed\n", n_run);
	return rc;
}
