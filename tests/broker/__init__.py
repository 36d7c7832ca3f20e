"""Tests of the broker adapters."""
