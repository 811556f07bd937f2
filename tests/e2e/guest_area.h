/*
 * For the e2e test guests (evil_guest.c, gap_guest.c): find the calling
 * process's own unitrace shared area, to read or scribble on it.
 */
#ifndef UT_TEST_GUEST_AREA_H
#define UT_TEST_GUEST_AREA_H

#include <stdio.h>
#include <string.h>

#include "ut_abi.h"

/* Our own shared area, found in /proc/self/maps; NULL if none. */
static inline struct ut_area_hdr *find_area(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "/memfd:unitrace") && sscanf(line, "%lx-", &lo) == 1)
			break;
	if (f)
		fclose(f);
	return (struct ut_area_hdr *)lo;
}

#endif
