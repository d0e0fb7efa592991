"""The peer comparison of scripts/bench-peers.sh: the fleet beside Dramatiq and Celery."""
