"""Blueprints of the box: JSON API, pupil, teacher, presenter, progress pages."""
