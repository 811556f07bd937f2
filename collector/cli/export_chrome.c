/* unitrace export --format chrome: being written. */
#include <stdio.h>

#include "export.h"

int ut_export_chrome(sqlite3 *db, const ut_export_opts_t *o)
{
	(void)db;
	(void)o;
	fputs("chrome: not built yet\n", stderr);
	return 1;
}
