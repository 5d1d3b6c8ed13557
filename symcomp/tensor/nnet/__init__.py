"""Neural-network ops and helpers: activations, softmax, crossentropies, convolution,
pooling and batch normalization (``st.nnet``)."""

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
from symcomp.tensor.nnet.batchnorm import batch_normalization_test, batch_normalization_train
from symcomp.tensor.nnet.conv import Conv2d, Conv2dGradFilters, Conv2dGradInputs, conv2d
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
from symcomp.tensor.nnet.pool import (
    AveragePoolGrad,
    MaxPoolGrad,
    Pool2d,
    avg_pool_2d,
    max_pool_2d,
    pool_2d,
)
from symcomp.tensor.nnet.dropout import dropout
from symcomp.tensor.nnet.softmax import LogSoftmax, Softmax, log_softmax, logsoftmax, softmax
from symcomp.tensor.nnet.xent_dx import CrossentropySoftmax1HotDx, crossentropy_softmax_1hot_dx

__all__ = [
    "AveragePoolGrad",
    "MaxPoolGrad",
    "Pool2d",
    "avg_pool_2d",
    "max_pool_2d",
    "pool_2d",
    "Conv2d",
    "Conv2dGradFilters",
    "Conv2dGradInputs",
    "conv2d",
    "CrossentropyCategorical1Hot",
    "CrossentropyCategorical1HotGrad",
    "CrossentropySoftmax1HotDx",
    "LogSoftmax",
    "Softmax",
    "batch_normalization_test",
    "batch_normalization_train",
    "binary_crossentropy",
    "categorical_crossentropy",
    "categorical_crossentropy_from_logits",
    "dropout",
    "crossentropy_categorical_1hot",
    "crossentropy_categorical_1hot_grad",
    "crossentropy_softmax_1hot_dx",
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
