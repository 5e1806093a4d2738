"""Feedback subscribes to simulations events here (wired in FeedbackConfig.ready)."""
