"""Page clean-up for scanned documents: numpy + numba kernels and the page pipeline.

Each module holds one algorithm: a validated public function (numpydoc, method and
reference) around a private ``@njit(cache=True, nogil=True)`` kernel. Only
:mod:`imaging.pipeline` knows the order of the steps. Nothing here reads files,
logs, reads configuration or looks at the clock (except the timings the pipeline
records with ``time.perf_counter``).
"""
