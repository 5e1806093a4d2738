"""Writes (HackSoftware styleguide): keyword-only `<entity>_<action>` functions."""
