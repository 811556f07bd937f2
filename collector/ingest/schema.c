/*
 * Schema entries and event payloads: decoding guest-written bytes.
 *
 * Everything here reads memory the guest controls (or a copy of it) and
 * must never trust it: every length is checked against what is left, every
 * enum against its range, every string is bounded and sanitized.
 */
#include <stdio.h>
#include <string.h>

#include "collector.h"

/* Copy a NUL-padded name of at most (cap) bytes, stopping at the first NUL,
 * replacing anything that is not printable ASCII.  Returns its length. */
static size_t copy_name(char *dst, const char *src, size_t cap)
{
	size_t n = 0;
	for (; n < cap; n++) {
		char c = src[n];
		if (!c)
			break;
		dst[n] = ut_text_guest_char(c);
	}
	dst[n] = 0;
	return n;
}

/* Names of events and fields end up as SQL identifiers in views: allow
 * [A-Za-z0-9_.:-] only. */
static bool name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == ':' || c == '-'))
			return false;
	}
	return true;
}

int ut_schema_parse(const struct ut_schema_entry *raw_in, ut_evtype_t *out,
		    char *err, size_t errlen)
{
	struct ut_schema_entry raw;

	memcpy(&raw, raw_in, sizeof(raw)); /* one read of guest memory */
	memset(out, 0, sizeof(*out));
	out->id = raw.id;
	out->kind = raw.kind;
	out->nfields = raw.nfields;
	copy_name(out->name, raw.name, UT_EVENT_NAME_LEN);
	copy_name(out->category, raw.category, UT_CATEGORY_LEN);

	if (raw.id < UT_EVENT_ID_FIRST) {
		snprintf(err, errlen, "schema entry has invalid id %u", raw.id);
		return -1;
	}
	if (raw.kind >= UT_KIND__COUNT) {
		snprintf(err, errlen, "event type %u has invalid kind %u",
			 raw.id, raw.kind);
		return -1;
	}
	if (raw.nfields > UT_MAX_FIELDS) {
		snprintf(err, errlen, "event type %u declares %u fields (max %u)",
			 raw.id, raw.nfields, UT_MAX_FIELDS);
		return -1;
	}
	if (!name_ok(out->name)) {
		snprintf(err, errlen, "event type %u has an invalid name '%s'",
			 raw.id, out->name);
		return -1;
	}
	for (unsigned i = 0; i < raw.nfields; i++) {
		const struct ut_schema_field *f = &raw.fields[i];
		ut_evfield_t *o = &out->fields[i];

		o->type = f->type;
		o->flags = f->flags;
		o->max_len = f->max_len;
		copy_name(o->name, f->name, UT_FIELD_NAME_LEN);
		if (f->type < UT_T_U8 || f->type >= UT_T__COUNT) {
			snprintf(err, errlen, "event '%s' field %u has invalid type %u",
				 out->name, i, f->type);
			return -1;
		}
		if (!name_ok(o->name)) {
			snprintf(err, errlen, "event '%s' field %u has an invalid name",
				 out->name, i);
			return -1;
		}
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(out->fields[j].name, o->name)) {
				snprintf(err, errlen,
					 "event '%s' has two fields named '%s'",
					 out->name, o->name);
				return -1;
			}
		if ((f->type == UT_T_STR || f->type == UT_T_BYTES) &&
		    f->max_len > UT_MAX_RECORD) {
			snprintf(err, errlen, "event '%s' field '%s' max_len %u too large",
				 out->name, o->name, f->max_len);
			return -1;
		}
	}
	return 0;
}

static unsigned scalar_size(uint8_t type)
{
	switch (type) {
	case UT_T_U8: case UT_T_S8: return 1;
	case UT_T_U16: case UT_T_S16: return 2;
	case UT_T_U32: case UT_T_S32: return 4;
	case UT_T_U64: case UT_T_S64: case UT_T_F64: return 8;
	default: return 0;
	}
}

int ut_schema_decode(const ut_evtype_t *t, const uint8_t *p, size_t len,
		     ut_event_t *ev, char *err, size_t errlen)
{
	size_t pos = 0;

	ev->type = t;
	ev->nvals = t->nfields;
	for (unsigned i = 0; i < t->nfields; i++) {
		const ut_evfield_t *f = &t->fields[i];
		ut_value_t *v = &ev->vals[i];
		unsigned sz = scalar_size(f->type);

		v->type = f->type;
		v->len = 0;
		if (sz) {
			if (len - pos < sz)
				goto truncated;
			switch (f->type) {
			case UT_T_U8: v->v.u = p[pos]; break;
			case UT_T_S8: v->v.s = (int8_t)p[pos]; break;
			case UT_T_U16: { uint16_t x; memcpy(&x, p + pos, 2); v->v.u = x; break; }
			case UT_T_S16: { int16_t x; memcpy(&x, p + pos, 2); v->v.s = x; break; }
			case UT_T_U32: { uint32_t x; memcpy(&x, p + pos, 4); v->v.u = x; break; }
			case UT_T_S32: { int32_t x; memcpy(&x, p + pos, 4); v->v.s = x; break; }
			case UT_T_U64: memcpy(&v->v.u, p + pos, 8); break;
			case UT_T_S64: memcpy(&v->v.s, p + pos, 8); break;
			case UT_T_F64: memcpy(&v->v.f, p + pos, 8); break;
			}
			pos += sz;
		} else { /* STR or BYTES: u16 length, then bytes */
			uint16_t n;
			if (len - pos < 2)
				goto truncated;
			memcpy(&n, p + pos, 2);
			pos += 2;
			if (n > f->max_len) {
				snprintf(err, errlen,
					 "event '%s' field '%s': length %u exceeds max %u",
					 t->name, f->name, n, f->max_len);
				return -1;
			}
			if (len - pos < n)
				goto truncated;
			v->len = n;
			v->v.p = p + pos;
			pos += n;
		}
	}
	/* What remains is alignment padding: at most 7 bytes. */
	if (len - pos >= UT_RECORD_ALIGN) {
		snprintf(err, errlen, "event '%s': %zu unexplained payload bytes",
			 t->name, len - pos);
		return -1;
	}
	return 0;

truncated:
	snprintf(err, errlen, "event '%s': payload truncated (%zu bytes)",
		 t->name, len);
	return -1;
}
