"""An optimizer that scales its updates by the root mean square of the update (``rms_helpers.py``)."""
import tensorflow as tf

from rms_helpers import root_mean_square as rms


class ClippedSGD(tf.keras.optimizers.Optimizer):
    def update_step(self, gradient, variable, learning_rate):
        update = gradient / tf.maximum(1.0, rms(gradient))
        variable.assign_sub(learning_rate * update)
