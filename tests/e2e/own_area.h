/*
 * For the guest programs of the e2e tests (tests/e2e/NAME.c): a hosted
 * guest's own shared area, found in /proc/self/maps after ut_init.
 */
#ifndef UT_TEST_OWN_AREA_H
#define UT_TEST_OWN_AREA_H

#include <stdio.h>
#include <string.h>

#include "ut_abi.h"

/* Our own shared area, or NULL. */
static inline struct ut_area_hdr *ut_test_own_area(void)
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

#endif /* UT_TEST_OWN_AREA_H */
