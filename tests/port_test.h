/* The test port's knobs (tests/port_test.c). */
#ifndef UT_PORT_TEST_H
#define UT_PORT_TEST_H
#include <stddef.h>
#include <stdint.h>
#include "ut_abi.h"

extern struct ut_area_hdr *ut_test_area; /* the area ut_init allocated */
extern size_t ut_test_area_bytes;
extern uint64_t ut_test_clock;           /* advanced by 10 per read */
extern int ut_test_fail_alloc;           /* make the next alloc fail */
extern uint64_t ut_test_notifies;        /* ut_port_notify calls */
extern uint32_t ut_test_notify_ring;     /* ring of the last one */
#endif
