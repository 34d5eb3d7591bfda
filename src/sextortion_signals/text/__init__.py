"""Text before matching: normalisation with an offset map, and language detection."""
