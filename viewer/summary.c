/*
 * Per-lane event counts per time bucket, for screens that hold more events
 * than are worth reading.
 *
 * The source is the collector's own summary, event_blocks: one row per run
 * of consecutive events of a lane (at most 4096 events and 1 s), so about
 * one row per 200-4000 events.  Each block's count is spread evenly over
 * the buckets its time range covers.  The buckets are in memory: at most
 * 2 * SUM_TARGET per lane whatever the trace size (a power-of-two width
 * that doubles when the trace outgrows it), so memory stays flat from 100 k
 * to 100 M events; reading the blocks costs one pass over event_blocks at
 * open and then only the blocks added since (follow mode).  Any zoom level
 * sums buckets: at most 2 * SUM_TARGET additions per lane per screen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "viewer.h"

#define SUM_TARGET 65536
#define SUM_MIN_W 256
#define SUM_TS_MAX ((int64_t)1 << 61)

/* Map the buckets of every lane to width (w) and origin (origin), (n)
 * buckets.  (w) is a multiple of the old width, (origin) aligned to it. */
static int relayout(vw_model_t *m, int64_t w, int64_t origin, size_t n)
{
	for (int i = 0; i < m->nlanes; i++) {
		vw_sum_t *s = &m->lanes[i].sum;
		uint32_t *c = calloc(n, sizeof(*c));
		if (!c) {
			snprintf(m->err, sizeof(m->err), "out of memory");
			return -1;
		}
		for (size_t k = 0; s->cnt && k < s->n; k++) {
			if (!s->cnt[k])
				continue;
			int64_t t = m->sum_origin + (int64_t)k * m->sum_w;
			int64_t j = (t - origin) / w;
			if (j >= 0 && (size_t)j < n)
				c[j] += s->cnt[k];
		}
		free(s->cnt);
		s->cnt = c;
		s->n = n;
	}
	m->sum_w = w;
	m->sum_origin = origin;
	m->sum_n = n;
	return 0;
}

static int64_t floor_to(int64_t t, int64_t w)
{
	int64_t q = t / w;
	if (t % w && t < 0)
		q--;
	return q * w;
}

/* Make the layout cover [lo, hi]. */
static int cover(vw_model_t *m, int64_t lo, int64_t hi)
{
	bool fresh = m->sum_w == 0;
	int64_t olo = fresh ? lo : m->sum_origin;
	int64_t ohi = fresh ? hi : m->sum_origin + (int64_t)m->sum_n * m->sum_w - 1;
	if (!fresh && lo >= olo && hi <= ohi) {
		/* lanes added since: give them buckets */
		for (int i = 0; i < m->nlanes; i++)
			if (!m->lanes[i].sum.cnt)
				return relayout(m, m->sum_w, m->sum_origin,
						m->sum_n);
		return 0;
	}
	if (lo > olo)
		lo = olo;
	if (hi < ohi)
		hi = ohi;
	int64_t w = fresh ? SUM_MIN_W : m->sum_w;
	double span = (double)hi - (double)lo + 1;
	while (span / (double)w > SUM_TARGET)
		w *= 2;
	int64_t origin = floor_to(lo, w);
	/* room to grow (follow mode) without a relayout at each refresh */
	size_t n = (size_t)((hi - origin) / w + 1);
	size_t want = n + n / 4 + 16;
	if (want > 2 * SUM_TARGET)
		want = n > 2 * SUM_TARGET ? n : 2 * SUM_TARGET;
	return relayout(m, w, origin, want);
}

static void spread(vw_model_t *m, vw_sum_t *s, int64_t tf, int64_t tl,
		   int64_t count)
{
	int64_t w = m->sum_w;
	if (tl < tf)
		tl = tf;
	int64_t b0 = (tf - m->sum_origin) / w, b1 = (tl - m->sum_origin) / w;
	if (b0 < 0 || b1 >= (int64_t)s->n || b0 > b1)
		return;
	if (b0 == b1) {
		s->cnt[b0] += (uint32_t)count;
		return;
	}
	double len = (double)(tl - tf + 1), acc = 0;
	int64_t given = 0;
	for (int64_t b = b0; b <= b1; b++) {
		int64_t lo = m->sum_origin + b * w, hi = lo + w - 1;
		if (lo < tf)
			lo = tf;
		if (hi > tl)
			hi = tl;
		acc += (double)count * (double)(hi - lo + 1) / len;
		int64_t upto = b == b1 ? count : (int64_t)(acc + 0.5);
		if (upto > given) {
			s->cnt[b] += (uint32_t)(upto - given);
			given = upto;
		}
	}
}

int summary_update(vw_model_t *m)
{
	sqlite3_stmt *s;
	int64_t lo = 0, hi = 0, maxid = 0;
	int rc;

	if (sqlite3_prepare_v2(m->db,
			       "SELECT min(ts_first), max(ts_last), max(id) "
			       "FROM event_blocks WHERE id > ?",
			       -1, &s, NULL) != SQLITE_OK)
		goto sqlfail;
	sqlite3_bind_int64(s, 1, m->last_block);
	rc = sqlite3_step(s);
	bool any = rc == SQLITE_ROW && sqlite3_column_type(s, 2) != SQLITE_NULL;
	if (any) {
		lo = sqlite3_column_int64(s, 0);
		hi = sqlite3_column_int64(s, 1);
		maxid = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		goto sqlfail;
	if (!any)
		return 0;
	/* Guest nanoseconds: a range beyond +-2^61 ns (73 years) is a
	 * damaged or hostile file, and the bucket arithmetic would overflow. */
	if (hi < lo)
		hi = lo;
	if (lo < -SUM_TS_MAX || hi > SUM_TS_MAX) {
		snprintf(m->err, sizeof(m->err),
			 "event_blocks spans %lld to %lld ns, beyond +-2^61 ns: "
			 "the database is damaged", (long long)lo, (long long)hi);
		return -1;
	}
	if (cover(m, lo, hi))
		return -1;

	if (sqlite3_prepare_v2(m->db,
			       "SELECT id, lane, ts_first, ts_last, count FROM "
			       "event_blocks WHERE id > ? AND id <= ? "
			       "ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK)
		goto sqlfail;
	sqlite3_bind_int64(s, 1, m->last_block);
	sqlite3_bind_int64(s, 2, maxid);
	int last = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		int64_t lane = sqlite3_column_int64(s, 1);
		int64_t tf = sqlite3_column_int64(s, 2);
		int64_t tl = sqlite3_column_int64(s, 3);
		int64_t c = sqlite3_column_int64(s, 4);
		if (last >= m->nlanes || m->lanes[last].id != lane) {
			last = -1;
			for (int i = 0; i < m->nlanes; i++)
				if (m->lanes[i].id == lane)
					last = i;
			if (last < 0) {
				/* a lane created after we read lanes: stop
				 * here, the next refresh reloads lanes */
				last = 0;
				rc = SQLITE_DONE;
				break;
			}
		}
		vw_lane_t *l = &m->lanes[last];
		if (tf < l->ts_first)
			l->ts_first = tf;
		if (tl > l->ts_last)
			l->ts_last = tl;
		l->nevents = vw_add_sat(l->nevents, c);
		spread(m, &l->sum, tf, tl, c);
		m->last_block = id;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		goto sqlfail;
	return 0;
sqlfail:
	snprintf(m->err, sizeof(m->err), "reading event_blocks: %s",
		 sqlite3_errmsg(m->db));
	return -1;
}

double summary_count(const vw_model_t *m, int li, double t0, double t1)
{
	const vw_sum_t *s = &m->lanes[li].sum;
	double w = (double)m->sum_w, sum = 0;

	if (!s->cnt || t1 <= t0)
		return 0;
	double f0 = (t0 - (double)m->sum_origin) / w;
	double f1 = (t1 - (double)m->sum_origin) / w;
	if (f1 <= 0 || f0 >= (double)s->n)
		return 0;
	if (f0 < 0)
		f0 = 0;
	if (f1 > (double)s->n)
		f1 = (double)s->n;
	size_t b0 = (size_t)f0, b1 = (size_t)f1;
	if (b1 >= s->n)
		b1 = s->n - 1;
	if (b0 == b1)
		return s->cnt[b0] * (f1 - f0);
	sum += s->cnt[b0] * ((double)(b0 + 1) - f0);
	for (size_t b = b0 + 1; b < b1; b++)
		sum += s->cnt[b];
	sum += s->cnt[b1] * (f1 - (double)b1);
	return sum;
}

void summary_free(vw_model_t *m)
{
	for (int i = 0; i < m->nlanes; i++) {
		free(m->lanes[i].sum.cnt);
		m->lanes[i].sum.cnt = NULL;
	}
}
