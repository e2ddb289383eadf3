"""The references that claims of several areas cite, written once."""

#: The GC paper.
GC = "Yong et al., Gradient Centralization, ECCV 2020"
#: The optimisers' forms and notation.
RUDER = "Ruder, An overview of gradient descent optimization algorithms, arXiv:1609.04747"
