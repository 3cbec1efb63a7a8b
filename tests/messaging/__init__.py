"""Tests of the messaging core."""
