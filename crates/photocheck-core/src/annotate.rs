//! Overlays drawn on a checked photo so a person sees at a glance why it was flagged.
