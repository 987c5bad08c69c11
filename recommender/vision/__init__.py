"""Image bytes → faces → emotion scores: decoding, face detection, cropping, the classifier."""
