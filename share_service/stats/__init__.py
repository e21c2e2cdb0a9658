"""Statistics for the stats API, the dashboard and the benchmark: parameters, queries (folded
inside Redis by the scripts of lua/) and CSV. No Flask here."""
