"""asv benchmarks of lrn_fast (see ../README.md)."""
