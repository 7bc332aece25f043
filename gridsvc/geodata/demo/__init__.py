"""The Ordos demo city, generated from a seed."""

# The seed `gridsvc demo build`, `make demo` and the benchmarks use unless told otherwise.
DEFAULT_DEMO_SEED = 20240601
