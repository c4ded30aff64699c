"""tflint-nan: find the where/switch branches that turn TensorFlow gradients into NaN."""

__version__ = "0.1.0"
