"""rolebar's tray icon: one client of :mod:`rolebar.core`."""
