"""Tests for the p2p package."""
