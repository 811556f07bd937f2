/*
 * checkpoint.c: the WAL checkpointer of a writable store.
 *
 * A thread of its own, with its own connection, copies the WAL back into
 * the database (PASSIVE checkpoints) when the writer's commit hook says
 * the WAL has grown past UT_CKPT_PAGES, so that the writer never waits for
 * the checkpoint's copy and fsyncs (a third of the ingest time when done
 * inline).
 *
 * Rule: the writer never blocks on the checkpointer; it checkpoints inline
 * only as backpressure, past UT_CKPT_INLINE_PAGES.  The thread touches
 * nothing of the store but struct ckpt.
 */
#include <pthread.h>
#include <stdbool.h>

#include <sqlite3.h>

#include "collector.h"
#include "store_int.h"

static void *ckpt_main(void *arg)
{
	struct ckpt *ck = arg;

	pthread_mutex_lock(&ck->lock);
	for (;;) {
		while (!ck->want && !ck->stop)
			pthread_cond_wait(&ck->cond, &ck->lock);
		if (ck->stop)
			break;
		ck->want = false;
		pthread_mutex_unlock(&ck->lock);
		/* PASSIVE: copies what it can without blocking the writer or
		 * readers; a failure (busy, I/O) is retried next time. */
		sqlite3_wal_checkpoint_v2(ck->db, "main",
					  SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&ck->lock);
	}
	pthread_mutex_unlock(&ck->lock);
	return NULL;
}

/* sqlite3_wal_hook of the writer: runs after each commit. */
static int ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	ut_store_t *st = arg;

	if (pages >= UT_CKPT_INLINE_PAGES) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
					  NULL, NULL);
	} else if (pages >= UT_CKPT_PAGES) {
		pthread_mutex_lock(&st->ck.lock);
		st->ck.want = true;
		pthread_cond_signal(&st->ck.cond);
		pthread_mutex_unlock(&st->ck.lock);
	}
	return SQLITE_OK;
}

/* Start the checkpointer of (st) on (path).  Without it (failure), SQLite's
 * own inline autocheckpoint stays in place. */
void ckpt_start(ut_store_t *st, const char *path)
{
	struct ckpt *ck = &st->ck;

	if (sqlite3_open_v2(path, &ck->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(ck->db, 100);
	if (pthread_mutex_init(&ck->lock, NULL))
		goto fail;
	if (pthread_cond_init(&ck->cond, NULL)) {
		pthread_mutex_destroy(&ck->lock);
		goto fail;
	}
	if (pthread_create(&ck->thread, NULL, ckpt_main, ck)) {
		pthread_cond_destroy(&ck->cond);
		pthread_mutex_destroy(&ck->lock);
		goto fail;
	}
	sqlite3_wal_hook(st->db, ckpt_hook, st);
	return;
fail:
	sqlite3_close(ck->db);
	ck->db = NULL;
}

void ckpt_stop(ut_store_t *st)
{
	struct ckpt *ck = &st->ck;

	if (!ck->db)
		return;
	sqlite3_wal_hook(st->db, NULL, NULL);
	pthread_mutex_lock(&ck->lock);
	ck->stop = true;
	pthread_cond_signal(&ck->cond);
	pthread_mutex_unlock(&ck->lock);
	pthread_join(ck->thread, NULL);
	pthread_cond_destroy(&ck->cond);
	pthread_mutex_destroy(&ck->lock);
	sqlite3_close(ck->db);
	ck->db = NULL;
}
