/*
 * unitrace export --format ctf: a placeholder until the CTF writer is
 * merged (issue 13); it says so and fails.
 */
#include <stdio.h>

#include "export.h"

int ut_export_ctf(sqlite3 *db, const ut_export_opts_t *o)
{
	(void)db;
	(void)o;
	fputs("ctf: not built yet\n", stderr);
	return 1;
}
