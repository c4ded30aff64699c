"""A warm-up then inverse-square-root learning-rate schedule: rsqrt(step) is evaluated during warm-up, where
step is 0 at first, but a schedule is never differentiated: refuted, no gradient reaches it."""
import tensorflow as tf


class WarmupRsqrt(tf.keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, peak=1e-3, warmup_steps=4000.):
        self.peak = peak
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warm = self.peak * step / self.warmup_steps
        decay = self.peak * tf.math.rsqrt(step / self.warmup_steps)
        return tf.where(step < self.warmup_steps, warm, decay)
