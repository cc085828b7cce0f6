"""Cluster mode: the docproc pipeline's stage functions as Celery tasks over Redis, with the
job ledger (`docproc.ledger`) as the record of what happened. See `workers.app` to start
workers and `workers.config` for settings. `docproc` itself never imports this package."""
