"""The Dask executor: addresses (no distributed import), worker-side functions, the executor."""
