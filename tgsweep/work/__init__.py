"""Distributed mode: the same stages as jobs on a work queue, for a store on PostgreSQL.

`tgsweep worker` processes (any number, on any machine that reaches the database) run the jobs;
a periodic `tick` job, deferred once per period whatever the number of workers, is the dispatcher:
it queues a `collect_web` job for each batch of the watchlist with a channel due, and the
store-wide `analyse` job (enrich, detect, automation, graph, deliver) on its own interval. Jobs are
idempotent: a replayed collect job re-reads from the cursors (posts are keyed, cursors never move
back), and `analyse` recomputes. The queue is Procrastinate on the store's own PostgreSQL
(tgsweep/work/queue.py): per-batch locks and queueing locks, heartbeats, and jobs of a dead worker
run again. `tgsweep run` (APScheduler on SQLite) stays the one-machine mode.
"""
