"""Task adapters: summarize, translate, ask, sentiment over any backend family."""
