"""A training-progress schedule of an image counter and integer stage lengths (as GANSynth's): its division by
the transition length is harmful only at a length of 0, and none of its inputs is anything but an integer, so no
gradient reaches it: refuted without probing."""
import tensorflow as tf


def compute_progress(current_image_id, stable_stage_num_images, transition_stage_num_images):
    """The training progress.

    Args:
      current_image_id: A scalar integer `Tensor` of the current image id.
      stable_stage_num_images: An integer, the number of images in each stable stage.
      transition_stage_num_images: Number of images in each transition stage.
    """
    stage_num_images = stable_stage_num_images + transition_stage_num_images
    fraction = tf.maximum(0.0, tf.cast(current_image_id % stage_num_images - stable_stage_num_images, tf.float32)
                          / tf.cast(transition_stage_num_images, tf.float32))
    return tf.cast(current_image_id // stage_num_images, tf.float32) + fraction
