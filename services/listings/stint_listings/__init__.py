"""Listings service: micro-internship projects from draft to closing."""
