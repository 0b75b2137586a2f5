"""Benchmarks: scripts that measure and print numbers; they never assert."""
