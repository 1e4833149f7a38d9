"""Icons and templates shipped as package data."""
