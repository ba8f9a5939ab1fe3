"""Figures and documents made from the catalogs and from stored results."""
