// Trace Review: small progressive enhancements; pages work without it.
