"""rolebar's engine: headless, imported as ``rolebar.core``.

Nothing in this package imports the tray, pystray, PIL, plyer or tkinter.
"""

__version__ = "0.1.0"
