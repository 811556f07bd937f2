/*
 * unitrace guest tracer: the machinery behind the declaration macros of
 * trace.h (event descriptors, registration in the "ut_events" section,
 * compile-time limits, the inline reserve/commit fast path).  Included by
 * trace.h; not an API of its own: everything here may change between
 * versions as long as trace.h keeps working.
 *
 * Freestanding: only <stdint.h>, <stddef.h>, <stdbool.h> and ut_abi.h.
 */
#ifndef UNITRACE_TRACE_IMPL_H
#define UNITRACE_TRACE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ut_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- event descriptors ------------------------------------------------- */

struct ut_field_desc {
	uint8_t type;     /* enum ut_field_type */
	uint8_t flags;    /* UT_FF_* */
	uint16_t max_len; /* STR/BYTES */
	const char *name;
};

/* Static description of one event type.  'enabled' comes first so the
 * disabled fast path touches one byte. */
typedef struct ut_event_desc {
	volatile uint8_t enabled; /* set by ut_init / ut_enable */
	uint8_t kind;             /* enum ut_event_kind */
	uint8_t nfields;
	uint8_t registered;       /* set once the schema entry is written */
	uint16_t id;              /* assigned by ut_init */
	const char *name;
	const char *category;
	struct ut_field_desc fields[UT_MAX_FIELDS];
} ut_event_desc_t;

/* The part of a ring's private state that the inline commit touches
 * (internal). */
typedef struct ut__ring_pub {
	uint64_t head;          /* private copy of the published head */
	uint64_t *head_pub;     /* the ring header's head, in the shared area */
	volatile uint32_t busy; /* a record is being written on this ring */
} ut__ring_pub_t;

/* Write context between ut__reserve and ut__commit (internal). */
typedef struct ut__wctx {
	ut__ring_pub_t *ring;
	uint32_t size;    /* record size */
	uint32_t wrapped; /* record built in scratch space: copy on commit */
} ut__wctx_t;

/* Reserve a record of (size) bytes for (desc) in the caller's ring, write
 * its header and return a pointer to its payload, or NULL if the event is
 * dropped.  Internal: use the generated ut_<event>() functions. */
uint8_t *ut__reserve(const ut_event_desc_t *desc, uint32_t size,
		     ut__wctx_t *w);
/* Commit a record that wraps around the end of the ring (internal). */
void ut__commit_wrapped(ut__wctx_t *w);

/* Publish the record reserved in (w): one release store of the head. */
static inline void ut__commit(ut__wctx_t *w)
{
	ut__ring_pub_t *r = w->ring;
	if (__builtin_expect(w->wrapped, 0)) {
		ut__commit_wrapped(w);
		return;
	}
	r->head += w->size;
	__atomic_store_n(r->head_pub, r->head, __ATOMIC_RELEASE);
	__asm__ __volatile__("" ::: "memory");
	r->busy = 0;
}

/* Length of string (s) cut at (max) bytes.  A cut never ends inside a UTF-8
 * character: if the last character of s[0..max) is incomplete, it is left
 * out.  Only s[0..max) is read; the check runs only when n reaches max. */
static inline uint16_t ut__strnlen(const char *s, uint16_t max)
{
	uint16_t n = 0;
	if (!s)
		return 0;
	while (n < max && s[n])
		n++;
	if (__builtin_expect(n == max && n > 0, 0)) {
		const unsigned char *u = (const unsigned char *)s;
		uint16_t j = n; /* back over up to 3 continuation bytes */
		while (j > 0 && n - j < 3 && (u[j - 1] & 0xc0) == 0x80)
			j--;
		if (j > 0 && u[j - 1] >= 0xc0) { /* a lead byte at j - 1 */
			unsigned c = u[j - 1];
			unsigned need = c >= 0xf0 ? 4u : c >= 0xe0 ? 3u : 2u;
			if ((unsigned)(j - 1) + need > n)
				n = (uint16_t)(j - 1);
		}
	}
	return n;
}

static inline uint8_t *ut__put_bytes(uint8_t *p, const void *src, uint16_t n)
{
	__builtin_memcpy(p, &n, 2);
	p += 2;
	if (n)
		__builtin_memcpy(p, src, n);
	return p + n;
}

#define UT__CT_U8 uint8_t
#define UT__CT_U16 uint16_t
#define UT__CT_U32 uint32_t
#define UT__CT_U64 uint64_t
#define UT__CT_S8 int8_t
#define UT__CT_S16 int16_t
#define UT__CT_S32 int32_t
#define UT__CT_S64 int64_t
#define UT__CT_F64 double

/* Per-type expansions, selected by token pasting on the tuple's TYPE. */
#define UT__SCALAR_PARAM(T, n) UT__CT_##T n
#define UT__PARAM_U8(n) UT__SCALAR_PARAM(U8, n)
#define UT__PARAM_U16(n) UT__SCALAR_PARAM(U16, n)
#define UT__PARAM_U32(n) UT__SCALAR_PARAM(U32, n)
#define UT__PARAM_U64(n) UT__SCALAR_PARAM(U64, n)
#define UT__PARAM_S8(n) UT__SCALAR_PARAM(S8, n)
#define UT__PARAM_S16(n) UT__SCALAR_PARAM(S16, n)
#define UT__PARAM_S32(n) UT__SCALAR_PARAM(S32, n)
#define UT__PARAM_S64(n) UT__SCALAR_PARAM(S64, n)
#define UT__PARAM_F64(n) UT__SCALAR_PARAM(F64, n)
#define UT__PARAM_STR(n) const char *n
#define UT__PARAM_BYTES(n) const void *n, uint16_t n##_len

#define UT__LEN_SCALAR(n, m)
#define UT__LEN_U8 UT__LEN_SCALAR
#define UT__LEN_U16 UT__LEN_SCALAR
#define UT__LEN_U32 UT__LEN_SCALAR
#define UT__LEN_U64 UT__LEN_SCALAR
#define UT__LEN_S8 UT__LEN_SCALAR
#define UT__LEN_S16 UT__LEN_SCALAR
#define UT__LEN_S32 UT__LEN_SCALAR
#define UT__LEN_S64 UT__LEN_SCALAR
#define UT__LEN_F64 UT__LEN_SCALAR
#define UT__LEN_STR(n, m) uint16_t ut__l_##n = ut__strnlen(n, m);
#define UT__LEN_BYTES(n, m) \
	uint16_t ut__l_##n = (n##_len < (m) ? n##_len : (uint16_t)(m));

#define UT__SIZE_U8(n) +1u
#define UT__SIZE_U16(n) +2u
#define UT__SIZE_U32(n) +4u
#define UT__SIZE_U64(n) +8u
#define UT__SIZE_S8(n) +1u
#define UT__SIZE_S16(n) +2u
#define UT__SIZE_S32(n) +4u
#define UT__SIZE_S64(n) +8u
#define UT__SIZE_F64(n) +8u
#define UT__SIZE_STR(n) +2u + ut__l_##n
#define UT__SIZE_BYTES(n) +2u + ut__l_##n

#define UT__PUT_SCALAR(n) \
	__builtin_memcpy(ut__p, &n, sizeof(n)); \
	ut__p += sizeof(n);
#define UT__PUT_U8 UT__PUT_SCALAR
#define UT__PUT_U16 UT__PUT_SCALAR
#define UT__PUT_U32 UT__PUT_SCALAR
#define UT__PUT_U64 UT__PUT_SCALAR
#define UT__PUT_S8 UT__PUT_SCALAR
#define UT__PUT_S16 UT__PUT_SCALAR
#define UT__PUT_S32 UT__PUT_SCALAR
#define UT__PUT_S64 UT__PUT_SCALAR
#define UT__PUT_F64 UT__PUT_SCALAR
#define UT__PUT_STR(n) ut__p = ut__put_bytes(ut__p, n, ut__l_##n);
#define UT__PUT_BYTES(n) ut__p = ut__put_bytes(ut__p, n, ut__l_##n);

/* Tuple accessors. */
#define UT__F_PARAM(T, n, m, f) UT__PARAM_##T(n)
#define UT__F_LEN(T, n, m, f) UT__LEN_##T(n, m)
#define UT__F_SIZE(T, n, m, f) UT__SIZE_##T(n)
#define UT__F_PUT(T, n, m, f) UT__PUT_##T(n)
#define UT__F_DESC(T, n, m, f) {UT_T_##T, (f), (m), #n},

#define UT__APPLY(M, tup) M tup

/* FOR_EACH over 1..8 tuples; (S) is the separator macro argument. */
#define UT__NARG(...) UT__NARG_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define UT__NARG_(a1, a2, a3, a4, a5, a6, a7, a8, N, ...) N
#define UT__CAT(a, b) UT__CAT_(a, b)
#define UT__CAT_(a, b) a##b
#define UT__EACH(M, ...) UT__CAT(UT__EACH_, UT__NARG(__VA_ARGS__))(M, __VA_ARGS__)
#define UT__EACH_1(M, a) UT__APPLY(M, a)
#define UT__EACH_2(M, a, ...) UT__APPLY(M, a) UT__EACH_1(M, __VA_ARGS__)
#define UT__EACH_3(M, a, ...) UT__APPLY(M, a) UT__EACH_2(M, __VA_ARGS__)
#define UT__EACH_4(M, a, ...) UT__APPLY(M, a) UT__EACH_3(M, __VA_ARGS__)
#define UT__EACH_5(M, a, ...) UT__APPLY(M, a) UT__EACH_4(M, __VA_ARGS__)
#define UT__EACH_6(M, a, ...) UT__APPLY(M, a) UT__EACH_5(M, __VA_ARGS__)
#define UT__EACH_7(M, a, ...) UT__APPLY(M, a) UT__EACH_6(M, __VA_ARGS__)
#define UT__EACH_8(M, a, ...) UT__APPLY(M, a) UT__EACH_7(M, __VA_ARGS__)
/* Comma-separated variant for parameter lists. */
#define UT__LIST(M, ...) UT__CAT(UT__LIST_, UT__NARG(__VA_ARGS__))(M, __VA_ARGS__)
#define UT__LIST_1(M, a) UT__APPLY(M, a)
#define UT__LIST_2(M, a, ...) UT__APPLY(M, a), UT__LIST_1(M, __VA_ARGS__)
#define UT__LIST_3(M, a, ...) UT__APPLY(M, a), UT__LIST_2(M, __VA_ARGS__)
#define UT__LIST_4(M, a, ...) UT__APPLY(M, a), UT__LIST_3(M, __VA_ARGS__)
#define UT__LIST_5(M, a, ...) UT__APPLY(M, a), UT__LIST_4(M, __VA_ARGS__)
#define UT__LIST_6(M, a, ...) UT__APPLY(M, a), UT__LIST_5(M, __VA_ARGS__)
#define UT__LIST_7(M, a, ...) UT__APPLY(M, a), UT__LIST_6(M, __VA_ARGS__)
#define UT__LIST_8(M, a, ...) UT__APPLY(M, a), UT__LIST_7(M, __VA_ARGS__)

/*
 * Registration.  Each descriptor is a weak object, so the same declaration
 * included in many translation units yields one descriptor in the program.
 * Each unit also places a pointer to it in the "ut_events" section; ut_init
 * walks that section and registers each descriptor once.
 */
#if defined(__APPLE__)
#error "unitrace guest: Mach-O section registration is not implemented"
#endif
#define UT__REGISTER(sym) \
	static ut_event_desc_t *const sym##__ptr \
		__attribute__((used, section("ut_events"), aligned(8))) = &sym;

/* Compile-time limits: names fit the schema, records fit UT_MAX_RECORD. */
#define UT__F_CHECK(T, n, m, f) \
	UT_STATIC_ASSERT(sizeof(#n) <= UT_FIELD_NAME_LEN, \
		       "unitrace: field name '" #n "' longer than 19 characters");
#define UT__CHECKS(fn, nm, ...) \
	UT_STATIC_ASSERT(sizeof(#nm) <= UT_EVENT_NAME_LEN, \
		       "unitrace: event name '" #nm "' longer than 39 characters"); \
	UT__EACH(UT__F_CHECK, __VA_ARGS__) \
	UT_STATIC_ASSERT(UT_EVENT_HDR_SIZE + 0 UT__EACH(UT__F_WORST, __VA_ARGS__) \
		       <= UT_MAX_RECORD, \
		       "unitrace: event '" #nm "' can exceed 4096 bytes");
#define UT__F_WORST(T, n, m, f) UT__WORST_##T(m)
#define UT__WORST_U8(m) +1u
#define UT__WORST_U16(m) +2u
#define UT__WORST_U32(m) +4u
#define UT__WORST_U64(m) +8u
#define UT__WORST_S8(m) +1u
#define UT__WORST_S16(m) +2u
#define UT__WORST_S32(m) +4u
#define UT__WORST_S64(m) +8u
#define UT__WORST_F64(m) +8u
#define UT__WORST_STR(m) +2u + (m)
#define UT__WORST_BYTES(m) +2u + (m)

#define UT__DESC(sym, nm, kind, nf, ...) \
	__attribute__((weak)) ut_event_desc_t sym = { \
		0, (kind), (nf), 0, 0, nm, "", {__VA_ARGS__}}; \
	UT__REGISTER(sym)

#define UT__EMIT_BODY(sym, ...) \
	if (__builtin_expect(sym.enabled, 0)) { \
		UT__EACH(UT__F_LEN, __VA_ARGS__) \
		ut__wctx_t ut__w; \
		uint8_t *ut__p = ut__reserve(&sym, \
			UT_EVENT_HDR_SIZE UT__EACH(UT__F_SIZE, __VA_ARGS__), &ut__w); \
		if (ut__p) { \
			UT__EACH(UT__F_PUT, __VA_ARGS__) \
			ut__commit(&ut__w); \
		} \
	}

#define UT__EMIT_BODY0(sym) \
	if (__builtin_expect(sym.enabled, 0)) { \
		ut__wctx_t ut__w; \
		if (ut__reserve(&sym, UT_EVENT_HDR_SIZE, &ut__w)) \
			ut__commit(&ut__w); \
	}

/* Generic: an event of kind (kind) named (name) with 1..8 fields; the
 * emitting function is called (fn). */
#define UT_EVENT_FN(fn, name, kind, ...) \
	UT__CHECKS(fn, name, __VA_ARGS__) \
	UT__DESC(ut__ev_##fn, #name, kind, UT__NARG(__VA_ARGS__), \
		 UT__EACH(UT__F_DESC, __VA_ARGS__)) \
	static inline __attribute__((unused)) void fn( \
		UT__LIST(UT__F_PARAM, __VA_ARGS__)) \
	{ \
		UT__EMIT_BODY(ut__ev_##fn, __VA_ARGS__) \
	}

#define UT_EVENT_FN0(fn, name, kind) \
	UT_STATIC_ASSERT(sizeof(#name) <= UT_EVENT_NAME_LEN, \
		       "unitrace: event name '" #name "' longer than 39 characters"); \
	UT__DESC(ut__ev_##fn, #name, kind, 0, {0, 0, 0, 0}) \
	static inline __attribute__((unused)) void fn(void) \
	{ \
		UT__EMIT_BODY0(ut__ev_##fn) \
	}

#ifdef __cplusplus
}
#endif

#endif /* UNITRACE_TRACE_IMPL_H */
