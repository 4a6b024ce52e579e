"""Bad-input corpus for the scan loader (generated at test time, never committed)."""
