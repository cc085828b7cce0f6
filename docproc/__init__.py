"""docproc: document understanding batch processor (render, OCR, layout, field reading)."""

__version__ = "0.1.0"
