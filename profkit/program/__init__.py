"""``profkit run``: a program run as it is, its pools found and measured inside their workers.

launcher (run the program) -> patches and worker (measure each pool call) -> sites (collect)
-> record (the run folder) and analysis (each site's facts); replay re-runs a site as a workload.
"""
