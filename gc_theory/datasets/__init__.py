"""Data sets the experiments and figures train on (loaded from packages, never downloaded).

* :mod:`.digits`: scikit-learn's 8x8 handwritten digits, standardised, as
  images or flat vectors, with a stratified train/test split.
"""

from .digits import Dataset, load_digits, stratified_split

__all__ = ["Dataset", "load_digits", "stratified_split"]
