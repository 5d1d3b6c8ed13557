"""Neural-network ops and helpers: activations, softmax, crossentropies (``st.nnet``)."""

from symcomp.tensor.nnet.activations import (
    elu,
    hard_sigmoid,
    relu,
    selu,
    sigmoid,
    silu,
    softplus,
    softsign,
    swish,
)
from symcomp.tensor.nnet.crossentropy import (
    CrossentropyCategorical1Hot,
    CrossentropyCategorical1HotGrad,
    binary_crossentropy,
    categorical_crossentropy,
    categorical_crossentropy_from_logits,
    crossentropy_categorical_1hot,
    crossentropy_categorical_1hot_grad,
    sigmoid_binary_crossentropy,
)
from symcomp.tensor.nnet.softmax import LogSoftmax, Softmax, log_softmax, logsoftmax, softmax

__all__ = [
    "CrossentropyCategorical1Hot",
    "CrossentropyCategorical1HotGrad",
    "LogSoftmax",
    "Softmax",
    "binary_crossentropy",
    "categorical_crossentropy",
    "categorical_crossentropy_from_logits",
    "crossentropy_categorical_1hot",
    "crossentropy_categorical_1hot_grad",
    "elu",
    "hard_sigmoid",
    "log_softmax",
    "logsoftmax",
    "relu",
    "selu",
    "sigmoid",
    "sigmoid_binary_crossentropy",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
]
