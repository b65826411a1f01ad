"""Classifiers and checks that turn photos, prompts and clips into typed signals."""
