"""Heard: a support bot that handles customer complaints like the best human teams."""
