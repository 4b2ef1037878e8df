"""Scoring systems against references: corpus scores, intervals, significance."""
