"""Reusable widgets: live waveform, level meter, meeting timeline."""
