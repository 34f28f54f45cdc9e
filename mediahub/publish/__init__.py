"""Publishing: feeds and pages rendered from the model, written atomically."""
