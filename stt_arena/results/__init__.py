"""Results of episodes: the trajectory record (schema and reader), the append-only store, and the metrics
(Pass@1, pass^k, CIs, per level and type) that eval, report, analyze, refine and export share."""
