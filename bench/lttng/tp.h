/*
 * LTTng-UST tracepoint provider for the comparison benchmark: the same
 * event as bench_tracepoint's (b), two uint32_t fields.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER utbench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./tp.h"

#if !defined(UTBENCH_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define UTBENCH_TP_H

#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_EVENT(utbench, pair,
	LTTNG_UST_TP_ARGS(uint32_t, a, uint32_t, b),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, a, a)
		lttng_ust_field_integer(uint32_t, b, b)
	)
)

#endif /* UTBENCH_TP_H */

#include <lttng/tracepoint-event.h>
