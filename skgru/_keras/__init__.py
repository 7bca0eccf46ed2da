"""Everything that talks to Keras: the network builder, the training loop, the
compiled-engine cache, and (in :mod:`skgru._keras.private`) every use of a private
Keras / KerasTuner / TensorFlow API.  No scikit-learn in this package."""
