/* unitrace: the tracepoint descriptor section (include/unitrace/trace_impl.h:
 * each UT_* event puts a pointer to its descriptor in "ut_events"; ut_init
 * walks __start_ut_events .. __stop_ut_events).  Read-only pointers. */
SECTIONS {
	. = ALIGN(8);
	ut_events : {
		PROVIDE(__start_ut_events = .);
		KEEP(*(ut_events))
		PROVIDE(__stop_ut_events = .);
	}
}
INSERT AFTER .rodata
