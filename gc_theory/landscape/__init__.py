"""The rest of the optimisation notes: the landscape a first-order method sees, and how it moves there.

One module per statement of the notes, each imported on demand:

* :mod:`.descent`: Taylor's expansion and the descent lemma on a quadratic;
* :mod:`.power_iteration`: the top Hessian eigenvalue (the smoothness
  constant) from Hessian-vector products;
* :mod:`.vanishing`: gradients through depth for sigmoid, tanh and ReLU, and
  the output-layer gradients of squared error and cross-entropy;
* :mod:`.minibatch`: the mean and covariance of a mini-batch gradient drawn
  without replacement;
* :mod:`.saddle`: escaping a saddle and crossing a plateau;
* :mod:`.random_minima`: how rare a minimum is among random critical points
  (the probability that a GOE matrix is positive definite, and its n^2 rate);
* :mod:`.cg`: nonlinear conjugate gradient (FR, PR, PR+, HS, DY) with exact
  and strong-Wolfe line searches;
* :mod:`.cg_minibatch`: CG under mini-batch noise, against SGD at the same budget.

Claim ids keep the notes' names (``descent.``, ``vanishing.``, ``minibatch.``,
``saddle.``, ``cg.``): each is the module of this package that holds its numerics.
"""
